/*
 * How init brings up the network: the loopback device always, and the
 * machine's network cards as the host says on the kernel command line
 * (src/linuxwasm/net.py):
 *
 *	linuxwasm.net=eth0:dhcp,eth1:10.0.1.2/24
 *
 * "dhcp" asks the card's far end for an address (the NAT, passt, answers
 * at once) with BusyBox's udhcpc, whose script sets the address, the
 * route and /etc/resolv.conf; an address with its prefix length is set
 * here (a switch of several machines, which has no DHCP server).
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int interface_up(int sock, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

static int set_ipv4(int sock, const char *name, unsigned long request, in_addr_t address)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = address;
	return ioctl(sock, request, &ifr);
}

/* "10.0.1.2/24" on name; -1 with errno set if it is not such an address. */
static int set_static_address(int sock, const char *name, const char *cidr)
{
	char address[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	struct in_addr in;
	char *end;
	long bits;

	if (!slash || (size_t)(slash - cidr) >= sizeof(address))
		return errno = EINVAL, -1;
	memcpy(address, cidr, slash - cidr);
	address[slash - cidr] = 0;
	bits = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, address, &in) != 1 || *end || end == slash + 1 || bits < 1 || bits > 32)
		return errno = EINVAL, -1;
	if (set_ipv4(sock, name, SIOCSIFADDR, in.s_addr) ||
	    set_ipv4(sock, name, SIOCSIFNETMASK, htonl(~0u << (32 - bits))))
		return -1;
	return interface_up(sock, name);
}

/*
 * udhcpc in the foreground until it has a lease (a few tries, a second
 * apart), quietly: a failure is a notice.
 */
static int ask_dhcp(const char *name)
{
	char *const argv[] = { "/sbin/udhcpc", "-i", (char *)name, "-f", "-q", "-n", "-t", "4", "-T", "1", NULL };
	posix_spawn_file_actions_t quiet;
	pid_t pid;
	int status, err;

	posix_spawn_file_actions_init(&quiet);
	posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&quiet, 1, 2);
	err = posix_spawn(&pid, argv[0], &quiet, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&quiet);
	if (err)
		return errno = err, -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : (errno = EAGAIN, -1);
}

static void bring_up_network(const char *spec, void (*notice)(const char *fmt, ...))
{
	char list[512], *entry, *save;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (sock < 0) {
		notice("no network: socket: %s", strerror(errno));
		return;
	}
	/* Up, lo gets 127.0.0.1/8 and ::1 from the kernel. */
	if (interface_up(sock, "lo"))
		notice("lo: %s", strerror(errno));
	snprintf(list, sizeof(list), "%s", spec);
	for (entry = strtok_r(list, ",", &save); entry; entry = strtok_r(NULL, ",", &save)) {
		char *how = strchr(entry, ':');
		int failed;

		if (!how || how == entry || how - entry >= IFNAMSIZ)
			continue;
		*how++ = 0;
		failed = !strcmp(how, "dhcp") ? interface_up(sock, entry) || ask_dhcp(entry)
					      : set_static_address(sock, entry, how);
		if (failed)
			notice("%s: no address (%s): %s", entry, how,
			       errno == EAGAIN ? "no answer from DHCP" : strerror(errno));
	}
	close(sock);
}
