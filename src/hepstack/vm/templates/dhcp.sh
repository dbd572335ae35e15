#!/usr/lib/hepstack-vm/busybox sh
# udhcpc's event script in a hepstack VM: apply the lease QEMU's user network (or any DHCP server) gives.
bb=/usr/lib/hepstack-vm/busybox
case $1 in
    deconfig)
        $bb ip -4 addr flush dev "$interface"
        $bb ip link set "$interface" up
        ;;
    bound | renew)
        $bb ip -4 addr flush dev "$interface"
        $bb ip addr add "$ip/${mask:-24}" dev "$interface"
        for gateway in $router; do
            $bb ip route replace default via "$gateway" dev "$interface"
            break
        done
        if [ -n "$dns" ]; then
            {
                [ -n "$domain" ] && echo "search $domain"
                for server in $dns; do echo "nameserver $server"; done
            } > /run/hepstack-resolv.conf
            # /etc/resolv.conf may be a symlink (systemd-resolved's, say): write the file, not through it
            $bb rm -f /etc/resolv.conf
            $bb cp /run/hepstack-resolv.conf /etc/resolv.conf
        fi
        ;;
esac
exit 0
