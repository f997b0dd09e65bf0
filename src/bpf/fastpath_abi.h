/* The fast path's maps as the eBPF programs (m6t_fastpath.bpf.c) and the daemon
 * (src/os/fastpath.cc) share them: keys, values and the per-CPU counters. Plain C, for both
 * sides; addresses and ports are in network byte order, as on the wire. The protocol's own
 * constants stay in src/core/wire.h: the daemon checks at compile time that the few the
 * programs repeat (header lengths, the keepalive's next header) agree with it.
 *
 * The engine is the one authority on states (§2.4, §3): the daemon writes an entry when the
 * engine activates a state and deletes it when the engine removes it; the programs only read
 * the entries, and write the activity of each. Whatever they do not recognise goes to user
 * space unchanged. */
#ifndef M6T_FASTPATH_ABI_H
#define M6T_FASTPATH_ABI_H

#include <linux/types.h>

#define M6T_FP_IPV4_HLEN 20
#define M6T_FP_UDP_HLEN 8
#define M6T_FP_IPV6_HLEN 40
#define M6T_FP_ETH_HLEN 14
#define M6T_FP_ENCAP_LEN (M6T_FP_IPV4_HLEN + M6T_FP_UDP_HLEN)
/* Listening endpoints and home agents a gateway may have (more: the fast path stays off). */
#define M6T_FP_MAX_LISTENERS 64
#define M6T_FP_MAX_HOME_AGENTS 64

struct m6t_fp_in6 {
  __u8 b[16];
};

/* Gateway: one active state, keyed by the MN's tunnel address (gw_states). The binding is
 * written once, at activation (§2.4: never updated); mtu and df follow the path's MTU. */
struct m6t_fp_gw_state {
  __be32 nat_addr;   /* the NAT's public address and port */
  __be32 local_addr; /* our address and port the MN sent to */
  __be16 nat_port;
  __be16 local_port;
  __u32 ifindex; /* where the MN's datagrams arrive: its answers leave there */
  __u16 mtu;     /* the largest IPv6 packet toward the MN (§2.6) */
  __u8 df;       /* the outer IPv4 DF bit (path-MTU mode) */
  __u8 pad;
};

/* A listening endpoint (gw_listen); addr 0 for a wildcard socket. */
struct m6t_fp_listen {
  __be32 addr;
  __be16 port;
  __u16 pad;
};

struct m6t_fp_gw_config {
  __u32 tun_ifindex; /* decapsulated packets enter there, as the user-space path writes them */
  __u32 mtu;         /* the configured MTU: a larger datagram is the user space's (oversized) */
};

/* Client: its one tunnel (cl_tunnel[0]), valid while `active` (the gateway answered, §3). */
struct m6t_fp_cl_tunnel {
  struct m6t_fp_in6 address; /* the tunnel address (§2.2) */
  __be32 local_addr;         /* the attachment's socket */
  __be32 gw_addr;            /* the gateway in use */
  __be16 local_port;
  __be16 gw_port;
  __u32 tun_ifindex;    /* decapsulated packets enter there */
  __u32 uplink_ifindex; /* the attachment's socket's interface: datagrams leave there */
  __u32 mtu;            /* the configured MTU: larger datagrams from the gateway are oversized */
  __u16 path_mtu;       /* the largest IPv6 packet toward the gateway */
  __u8 df;
  __u8 active;
};

/* What the programs forwarded for one state since its activation (gw_activity), or for the
 * client's tunnel since the daemon started (cl_activity; the times since the last activation).
 * Times are bpf_ktime_get_ns(): CLOCK_MONOTONIC, the daemon's clock. "in" is toward the home side
 * (gateway) or the host (client), "out" toward the MN (gateway) or the gateway (client). */
struct m6t_fp_activity {
  __u64 in_packets;
  __u64 in_bytes;
  __u64 out_packets;
  __u64 out_bytes;
  __u64 last_in_ns;
  __u64 last_out_ns;
  __u64 awaiting_since_ns; /* client: oldest packet sent since the last received; 0: none */
};

/* Per-CPU counters (fp_counters, a per-CPU array indexed by these): which core did what. */
enum m6t_fp_counter {
  M6T_FP_FORWARDED_IN,  /* decapsulated toward the home side or the host */
  M6T_FP_FORWARDED_OUT, /* encapsulated toward an MN or the gateway */
  M6T_FP_PASSED,        /* m6t traffic left to user space (not an active binding's) */
  M6T_FP_FAILED,        /* a kernel helper failed mid-way: the packet was dropped */
  M6T_FP_COUNTERS
};

struct m6t_fp_count {
  __u64 packets;
  __u64 bytes;
};

#endif /* M6T_FASTPATH_ABI_H */
