# sourced by login shells: the VM must apply it as the containers do
export VMTEST_PROFILE="profile applied"
