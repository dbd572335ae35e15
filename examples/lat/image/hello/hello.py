"""Placeholder release program: prints the environment the release sees."""
import os, sys
import numpy
print(f"lat release {os.environ.get('LAT_RELEASE')} python {sys.version.split()[0]} numpy {numpy.__version__} framework={os.environ.get('LAT_FRAMEWORK')}")
