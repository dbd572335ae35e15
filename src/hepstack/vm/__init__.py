"""Virtual machines from the same stack: a bootable disk image of any layer, booted with QEMU.

- :mod:`hepstack.vm.suite`: which Debian suite an image tree is (its ``/etc/os-release``);
- :mod:`hepstack.vm.kernel`: that suite's kernel, modules and a static busybox, from the Debian archive
  (mmdebstrap, once per suite, cached);
- :mod:`hepstack.vm.initramfs`: a small initramfs (busybox + the modules a virtual disk needs);
- :mod:`hepstack.vm.guest`: what the root filesystem gains: an init, DHCP, the developer account, the
  layer's environment;
- :mod:`hepstack.vm.disk`: the disk (MBR, a FAT boot partition with SYSLINUX, ext4 made by ``mke2fs -d``),
  all in user space, as raw or qcow2;
- :mod:`hepstack.vm.image`: from an image reference to a disk (``hepstack export``; the cache of
  ``hepstack vm run``);
- :mod:`hepstack.vm.qemu` and :mod:`hepstack.vm.session`: booting it headless, shared directories over
  9p, a console or one command with its exit status; :mod:`hepstack.vm.commands`: ``hepstack vm run``;
- :mod:`hepstack.vm.health`: whether VMs can run here (``hepstack doctor``).

docs/vm.md explains the choices.
"""
