from hepstack.cli import main

main()
