# Sourced by login shells in every image built on the io layer (/etc/profile.d), as the seeds'
# images set their environment through /etc/profile.
export LAT_FRAMEWORK=1
export PYTHONHASHSEED=0
export PYTHONDONTWRITEBYTECODE=1
