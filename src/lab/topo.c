/*
 * topo.c - build and remove the lab topology with ip(8), nft(8), sysctl(8).
 *
 *   client-i  198.18.i.2/24 --- 198.18.i.1  fw  198.18.200.1/24 --- 198.18.200.2  gw
 *   gw 198.19.0.1/24 --- 198.19.0.2 server
 *
 * fw: DNAT service -> server, SNAT every client to one address, conntrack
 * TIME_WAIT = [firewall] time_wait. With profile strict, a forward-chain
 * rule emulates the report's hardware firewall: a reply that is neither
 * SYN-ACK nor RST, to a conntrack entry that has not yet carried a SYN-ACK
 * (ct mark 0), is dropped; the SYN-ACK sets ct mark 1. Linux conntrack alone
 * lets that bare ACK through (its TCP tracker "ignores" it).
 * gw: forwarding, conntrack, counts INVALID packets (nft counter).
 * No namespace gets a default route: only routes to 198.18.0.0/15.
 */
#include "lab/lab.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void lab_ns(const struct lab *L, const char *role, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", L->sc.prefix, role);
}

void lab_client_ns(const struct lab *L, unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "%sc%u", L->sc.prefix, i + 1);
}

static const char *ip4(uint32_t a, char *buf)
{
	struct in_addr in = { htonl(a) };
	inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
	return buf;
}

bool lab_preflight(char *err, size_t errlen)
{
	static const char *tools[] = { "ip", "nft", "sysctl", "tcpdump", "curl", "python3", NULL };
	if (geteuid() != 0) {
		snprintf(err, errlen, "needs root (network namespaces, nftables)");
		return false;
	}
	if (access("/proc/self/ns/net", R_OK) != 0) {
		snprintf(err, errlen, "this kernel has no network namespace support");
		return false;
	}
	for (size_t i = 0; tools[i]; i++) {
		char cmd[64];
		snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tools[i]);
		if (system(cmd) != 0) {
			snprintf(err, errlen, "'%s' not found (run scripts/deps)", tools[i]);
			return false;
		}
	}
	return true;
}

unsigned lab_list(const char *prefix, char *buf, size_t len)
{
	DIR *d = opendir("/var/run/netns");
	struct dirent *e;
	unsigned n = 0;
	size_t used = 0;

	if (len)
		buf[0] = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) || e->d_name[0] == '.')
			continue;
		if (used < len) {
			int w = snprintf(buf + used, len - used, "%s%s", n ? " " : "", e->d_name);
			if (w > 0)
				used += (size_t)w;
		}
		n++;
	}
	closedir(d);
	return n;
}

/* Processes left inside one of our namespaces (a server or tcpdump from a
 * `lab up` whose twlab has exited): ours, stopped by pid. */
static void kill_ns_pids(struct lab *L, const char *ns)
{
	char tmp[] = "/tmp/twlab-pids-XXXXXX";
	int fd = mkstemp(tmp);
	FILE *f;
	long pid;

	if (fd < 0)
		return;
	close(fd);
	const char *argv[] = { "ip", "netns", "pids", ns, NULL };
	bool dry = L->dry_run;
	L->dry_run = false;                 /* reading is harmless */
	bool verbose = L->verbose;
	L->verbose = false;
	lab_run(L, argv, tmp);
	L->dry_run = dry;
	L->verbose = verbose;
	if ((f = fopen(tmp, "r"))) {
		while (fscanf(f, "%ld", &pid) == 1)
			if (pid > 1 && !dry)
				lab_stop((pid_t)pid);
		fclose(f);
	}
	unlink(tmp);
}

int lab_down(struct lab *L)
{
	char names[4096], *save, *ns;
	int rc = 0;

	for (unsigned i = 0; i < L->ndump; i++)
		lab_stop(L->dump_pid[i]);
	L->ndump = 0;
	lab_stop(L->server_pid);
	L->server_pid = 0;
	lab_list(L->sc.prefix, names, sizeof names);
	for (ns = strtok_r(names, " ", &save); ns; ns = strtok_r(NULL, " ", &save)) {
		const char *del[] = { "ip", "netns", "del", ns, NULL };
		kill_ns_pids(L, ns);
		if (lab_run(L, del, NULL) != 0)
			rc = -1;
	}
	L->up = false;
	return rc;
}

#define RUN(...) do { \
	const char *a_[] = { __VA_ARGS__, NULL }; \
	if (lab_run(L, a_, log) != 0) { \
		snprintf(err, errlen, "command failed: %s %s %s %s (see %s)", a_[0], a_[1], \
			 a_[2] ? a_[2] : "", a_[2] && a_[3] ? a_[3] : "", log); \
		return -1; \
	} \
} while (0)

int lab_nft(struct lab *L, const char *ns, const char *name, const char *rules,
	    const char *log, char *err, size_t errlen)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s.nft", L->outdir, name);
	if (!L->dry_run) {
		if (!(f = fopen(path, "w"))) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		fputs(rules, f);
		fclose(f);
	} else {
		fprintf(stderr, "# %s:\n%s", path, rules);
	}
	RUN("ip", "netns", "exec", ns, "nft", "-f", path);
	return 0;
}

/* The HTTP/1.0 server: Python's http.server, as in the report. The
 * response carries no Content-Length, so the client reads until EOF and the
 * server always closes first: the server holds TIME_WAIT. */
int lab_server_start(struct lab *L, const char *ns, uint32_t addr, uint16_t port_no,
		     char *err, size_t errlen)
{
	char py_path[600], slog[700], port[16], a[INET_ADDRSTRLEN];

	snprintf(py_path, sizeof py_path, "%s/server.py", L->outdir);
	snprintf(slog, sizeof slog, "%s/server.log", L->outdir);
	if (!L->dry_run) {
		FILE *f = fopen(py_path, "w");
		if (!f) {
			snprintf(err, errlen, "%s: %s", py_path, strerror(errno));
			return -1;
		}
		fputs("import http.server, sys\n"
		      "class H(http.server.BaseHTTPRequestHandler):\n"
		      "    protocol_version = 'HTTP/1.0'\n"
		      "    def log_message(self, *a): pass\n"
		      "    def do_GET(self):\n"
		      "        self.send_response(200)\n"
		      "        self.send_header('Content-Type', 'text/plain')\n"
		      "        self.send_header('Connection', 'close')\n"
		      "        self.end_headers()\n"
		      "        self.wfile.write(b'twlab lab server\\n')\n"
		      "http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()\n", f);
		fclose(f);
	}
	snprintf(port, sizeof port, "%u", port_no);
	const char *py[] = { "ip", "netns", "exec", ns, "python3", py_path, ip4(addr, a), port, NULL };
	L->server_pid = lab_spawn(L, py, slog, slog);
	if (L->server_pid < 0) {
		snprintf(err, errlen, "cannot start python3 http.server: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int lab_wait_http(struct lab *L, const char *ns, const char *url)
{
	const char *argv[] = { "ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null",
			       "--connect-timeout", "1", "--max-time", "2", url, NULL };
	struct timespec pause = { 0, 100 * 1000 * 1000 };

	for (int i = 0; i < 50 && !lab_interrupted; i++) {
		if (lab_run(L, argv, NULL) == 0)
			return 0;
		nanosleep(&pause, NULL);
	}
	return -1;
}

int lab_up(struct lab *L, char *err, size_t errlen)
{
	const struct scenario *s = &L->sc;
	char fw[32], gw[32], srv[32], c[32], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	char cidr[64], log[600], rules[2048], tw[64];

	snprintf(log, sizeof log, "%s/lab.log", L->outdir);
	if (!L->dry_run && mkdir(L->outdir, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", L->outdir, strerror(errno));
		return -1;
	}
	if (lab_list(s->prefix, rules, sizeof rules)) {
		snprintf(err, errlen, "namespaces with prefix '%s' exist already (%s): "
			 "`twlab lab down --prefix %s` first", s->prefix, rules, s->prefix);
		return -1;
	}
	L->up = true;
	lab_ns(L, "fw", fw, sizeof fw);
	lab_ns(L, "gw", gw, sizeof gw);
	lab_ns(L, "srv", srv, sizeof srv);

	RUN("ip", "netns", "add", fw);
	RUN("ip", "netns", "add", gw);
	RUN("ip", "netns", "add", srv);
	RUN("ip", "-n", fw, "link", "set", "lo", "up");
	RUN("ip", "-n", gw, "link", "set", "lo", "up");
	RUN("ip", "-n", srv, "link", "set", "lo", "up");

	for (unsigned i = 0; i < s->clients; i++) {
		char cif[16], fif[24];
		lab_client_ns(L, i, c, sizeof c);
		snprintf(cif, sizeof cif, "eth0");
		snprintf(fif, sizeof fif, "c%u", i + 1);
		RUN("ip", "netns", "add", c);
		RUN("ip", "-n", c, "link", "set", "lo", "up");
		RUN("ip", "link", "add", "tmp-twl-c", "netns", c, "type", "veth", "peer", "name", fif, "netns", fw);
		RUN("ip", "-n", c, "link", "set", "tmp-twl-c", "name", cif);
		snprintf(cidr, sizeof cidr, "%s/24", ip4(0xc6120002u | (i + 1) << 8, a));
		RUN("ip", "-n", c, "addr", "add", cidr, "dev", cif);
		snprintf(cidr, sizeof cidr, "%s/24", ip4(0xc6120001u | (i + 1) << 8, a));
		RUN("ip", "-n", fw, "addr", "add", cidr, "dev", fif);
		RUN("ip", "-n", c, "link", "set", cif, "up");
		RUN("ip", "-n", fw, "link", "set", fif, "up");
		RUN("ip", "-n", c, "route", "add", "198.18.0.0/15", "via", ip4(0xc6120001u | (i + 1) << 8, a));
		/* repro reads a client's timestamp clock for a 4-tuple from a
		 * socket marked LAB_PROBE_MARK whose SYN must never leave */
		snprintf(rules, sizeof rules,
			 "table ip twlab_probe {\n"
			 "  chain out {\n    type filter hook output priority filter; policy accept;\n"
			 "    meta mark 0x%x drop\n  }\n}\n", LAB_PROBE_MARK);
		snprintf(fif, sizeof fif, "client-%u", i + 1);
		if (lab_nft(L, c, fif, rules, log, err, errlen))
			return -1;
	}
	/* fw <-> gw, gw <-> server */
	RUN("ip", "link", "add", "tmp-twl-f", "netns", fw, "type", "veth", "peer", "name", "fw", "netns", gw);
	RUN("ip", "-n", fw, "link", "set", "tmp-twl-f", "name", "gw");
	RUN("ip", "link", "add", "tmp-twl-s", "netns", gw, "type", "veth", "peer", "name", "eth0", "netns", srv);
	RUN("ip", "-n", gw, "link", "set", "tmp-twl-s", "name", "srv");
	snprintf(cidr, sizeof cidr, "%s/24", ip4(s->snat_addr, a));
	RUN("ip", "-n", fw, "addr", "add", cidr, "dev", "gw");
	snprintf(cidr, sizeof cidr, "%s/24", ip4((s->snat_addr & 0xffffff00u) | 254, a));
	RUN("ip", "-n", gw, "addr", "add", cidr, "dev", "fw");
	snprintf(cidr, sizeof cidr, "%s/24", ip4((s->server_addr & 0xffffff00u) | 254, a));
	RUN("ip", "-n", gw, "addr", "add", cidr, "dev", "srv");
	snprintf(cidr, sizeof cidr, "%s/24", ip4(s->server_addr, a));
	RUN("ip", "-n", srv, "addr", "add", cidr, "dev", "eth0");
	RUN("ip", "-n", fw, "link", "set", "gw", "up");
	RUN("ip", "-n", gw, "link", "set", "fw", "up");
	RUN("ip", "-n", gw, "link", "set", "srv", "up");
	RUN("ip", "-n", srv, "link", "set", "eth0", "up");
	snprintf(cidr, sizeof cidr, "%s/24", ip4(s->server_addr & 0xffffff00u, a));
	RUN("ip", "-n", fw, "route", "add", cidr, "via", ip4((s->snat_addr & 0xffffff00u) | 254, b));
	RUN("ip", "-n", gw, "route", "add", "198.18.0.0/15", "via", ip4(s->snat_addr, a));
	RUN("ip", "-n", srv, "route", "add", "198.18.0.0/15", "via", ip4((s->server_addr & 0xffffff00u) | 254, a));
	RUN("ip", "netns", "exec", fw, "sysctl", "-qw", "net.ipv4.ip_forward=1");
	RUN("ip", "netns", "exec", gw, "sysctl", "-qw", "net.ipv4.ip_forward=1");

	/* firewall rules */
	snprintf(rules, sizeof rules,
		 "table ip twlab {\n"
		 "  chain pre {\n    type nat hook prerouting priority dstnat; policy accept;\n"
		 "    ip daddr %s tcp dport %u dnat to %s:%u\n  }\n"
		 "  chain post {\n    type nat hook postrouting priority srcnat; policy accept;\n"
		 "    oifname \"gw\" snat to %s\n  }\n"
		 "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
		 "%s"
		 "  }\n}\n",
		 ip4(s->service_addr, a), s->service_port, ip4(s->server_addr, b), s->server_port,
		 ip4(s->snat_addr, c),
		 s->fw == FW_STRICT
		 ? "    # strict: only a SYN-ACK or a RST may answer a session that has seen no SYN-ACK\n"
		   "    iifname \"gw\" tcp flags & (syn | ack) == syn | ack ct mark set 1\n"
		   "    iifname \"gw\" ct mark != 1 tcp flags & (syn | rst) == 0 counter drop\n"
		 : "    # linux: conntrack only\n    ct state invalid counter\n");
	if (lab_nft(L, fw, "firewall", rules, log, err, errlen))
		return -1;
	snprintf(tw, sizeof tw, "net.netfilter.nf_conntrack_tcp_timeout_time_wait=%u", s->fw_time_wait);
	RUN("ip", "netns", "exec", fw, "sysctl", "-qw", tw);

	snprintf(rules, sizeof rules,
		 "table ip twlab {\n"
		 "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
		 "    ct state invalid counter log prefix \"twlab-gw-invalid: \"\n  }\n}\n");
	if (lab_nft(L, gw, "gateway", rules, log, err, errlen))
		return -1;
	snprintf(tw, sizeof tw, "net.netfilter.nf_conntrack_tcp_timeout_time_wait=%u", s->gw_time_wait);
	RUN("ip", "netns", "exec", gw, "sysctl", "-qw", tw);

	{
		char sns[32];
		lab_ns(L, "srv", sns, sizeof sns);
		if (lab_server_start(L, sns, s->server_addr, s->server_port, err, errlen))
			return -1;
	}
	return 0;
}
