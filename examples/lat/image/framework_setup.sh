# Sourced by login shells in every image built on the framework layer (/etc/profile.d).
export LAT_FRAMEWORK=1
export MPLBACKEND=Agg
