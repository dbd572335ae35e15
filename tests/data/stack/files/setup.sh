export DEMO=1
