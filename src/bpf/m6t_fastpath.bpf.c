// SPDX-License-Identifier: GPL-2.0-or-later
/* The m6t fast path: eBPF programs at the TC hooks that forward the packets of active states
 * in the kernel, so that they never cross user space.
 *
 *   gateway  m6t_gw_from_nat  ingress of the interfaces the listening addresses are on:
 *                             a datagram of an active state's binding, to a home agent, is
 *                             decapsulated and enters the TUN device (as the daemon would
 *                             write it there);
 *            m6t_gw_to_mn     egress of the TUN device: a packet for an active state, within
 *                             its path MTU, is encapsulated and sent toward the MN's NAT;
 *   client   m6t_cl_from_gw   ingress of the uplink: the gateway's datagram for the tunnel
 *                             address is decapsulated and enters the TUN device;
 *            m6t_cl_to_gw     egress of the TUN device: the host's packet from the tunnel
 *                             address is encapsulated toward the gateway.
 *
 * Every check the engines make for these packets is made here the same way or the packet is
 * left alone (M6T_LEAVE: it goes the way it goes without the fast path, to the daemon, which
 * keeps the draft's rules in one implementation): first packets, temporary states, keepalives
 * and their answers, bindings that do not match (§2.4), destinations that are not a home agent
 * (§6.1.3), oversized packets, fragments, IP options, GSO packets, anything malformed. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/fastpath_abi.h"

char LICENSE[] SEC("license") = "GPL";

#define M6T_BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)  /* Linux 6.3 */
#define M6T_BPF_F_ADJ_ROOM_DECAP_L4_UDP (1ULL << 10)  /* after Linux 6.18 */

/* A packet the programs leave alone goes on as without them: to the next program at the hook,
 * or up the stack (tcx: TCX_NEXT; cls_bpf direct-action: the next filter, then the stack). */
#define M6T_LEAVE TC_ACT_UNSPEC
#define M6T_IP_DF 0x4000
#define M6T_IP_FRAG_MASK 0x3fff /* MF and the fragment offset */

/* The link-layer header in front of an egress packet: none on the TUN devices the programs
 * run on. Tests running the programs with BPF_PROG_TEST_RUN, which always builds an Ethernet
 * frame, set it to 14 before loading. */
const volatile __u32 egress_l2_len = 0;

/* Sized by the daemon before loading (--max-states). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, struct m6t_fp_in6);
  __type(value, struct m6t_fp_gw_state);
} gw_states SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, struct m6t_fp_in6);
  __type(value, struct m6t_fp_activity);
} gw_activity SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, M6T_FP_MAX_LISTENERS);
  __type(key, struct m6t_fp_listen);
  __type(value, __u32);
} gw_listen SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, M6T_FP_MAX_HOME_AGENTS);
  __type(key, struct m6t_fp_in6);
  __type(value, __u8);
} gw_home_agents SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct m6t_fp_gw_config);
} gw_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct m6t_fp_cl_tunnel);
} cl_tunnel SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct m6t_fp_activity);
} cl_activity SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, M6T_FP_COUNTERS);
  __type(key, __u32);
  __type(value, struct m6t_fp_count);
} fp_counters SEC(".maps");

/* The outer headers the programs read, in the linear part of the packet. */
struct outer {
  struct iphdr ip;
  struct udphdr udp;
};
_Static_assert(sizeof(struct outer) == M6T_FP_ENCAP_LEN, "no padding in the outer headers");

static __always_inline void count_packets(__u32 what, __u64 packets, __u64 bytes) {
  struct m6t_fp_count *c = bpf_map_lookup_elem(&fp_counters, &what);
  if (c) {
    c->packets += packets;
    c->bytes += bytes;
  }
}

static __always_inline void count(__u32 what, __u64 bytes) {
  count_packets(what, 1, bytes);
}

static __always_inline int pass(void) {
  count(M6T_FP_PASSED, 0);
  return M6T_LEAVE;
}

static __always_inline int failed(void) {
  count(M6T_FP_FAILED, 0);
  return TC_ACT_SHOT;
}

static __always_inline __u16 fold(__u64 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

/* A UDP checksum field holding only the pseudo-header sum is a CHECKSUM_PARTIAL datagram from
 * a local sender (a veth or virtio neighbour): its offload state points into the headers the
 * decapsulation removes, so the kernel could later complete a checksum at the wrong place.
 * Such datagrams go to user space, whose socket delivery is unaffected. A datagram from the
 * network matches by chance once in 65536 and then only takes the slower way. */
static __always_inline int maybe_partial(const struct outer *o) {
  __u64 sum = (o->ip.saddr >> 16) + (o->ip.saddr & 0xffff) + (o->ip.daddr >> 16) +
              (o->ip.daddr & 0xffff) + bpf_htons(IPPROTO_UDP) + o->udp.len;
  return o->udp.check == fold(sum);
}

static __always_inline int same_in6(const struct m6t_fp_in6 *a, const void *b) {
  const __u64 *x = (const __u64 *)a, *y = b;
  return x[0] == y[0] && x[1] == y[1];
}

/* fe80::/10 and ff00::/8: never a tunnel peer's address (§6.1.3). */
static __always_inline int link_local_or_multicast(const __u8 *a) {
  return a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

static __always_inline int unspecified_or_loopback(const __u8 *a) {
  const __u64 *x = (const __u64 *)a;
  return x[0] == 0 && (x[1] == 0 || x[1] == bpf_cpu_to_be64(1));
}

/* What an ingress frame carries: one IPv6 packet, or, for a GSO frame (a veth or virtio
 * neighbour's encapsulated super-packet, which no wire delivers but a host's virtual links
 * pass on whole), the packets of `largest` bytes at most its segmentation would make. */
struct ingress {
  __u32 len;
  __u32 largest;
  __u32 packets;
  __u32 bytes;
};

/* Checks the outer IPv4/UDP headers of an ingress frame and the inner IPv6 header's length,
 * as the engines' decoders do (exactly one IPv6 packet per datagram, at most `mtu`). */
static __always_inline int check_datagram(struct __sk_buff *skb, const struct outer *o,
                                          const struct ipv6hdr *in6, __u32 mtu,
                                          struct ingress *e) {
  if (o->ip.version != 4 || o->ip.ihl != 5) return 0;
  if (o->ip.frag_off & bpf_htons(M6T_IP_FRAG_MASK)) return 0;
  if (o->ip.protocol != IPPROTO_UDP) return 0;
  __u32 ip_len = bpf_ntohs(o->ip.tot_len);
  if (ip_len + M6T_FP_ETH_HLEN > skb->len) return 0;
  __u32 udp_len = bpf_ntohs(o->udp.len);
  if (udp_len != ip_len - M6T_FP_IPV4_HLEN) return 0;
  if (udp_len < M6T_FP_UDP_HLEN + M6T_FP_IPV6_HLEN) return 0;
  __u32 inner = udp_len - M6T_FP_UDP_HLEN;
  if (in6->version != 6) return 0;
  if (M6T_FP_IPV6_HLEN + bpf_ntohs(in6->payload_len) != inner) return 0;
  if (maybe_partial(o)) return 0;
  e->len = e->largest = e->bytes = inner;
  e->packets = 1;
  if (skb->gso_size) {
    __u32 l4;
    if (in6->nexthdr == IPPROTO_TCP) {
      const __u8 *tcp = (const __u8 *)(in6 + 1);
      if ((void *)(tcp + 13) > (void *)(long)skb->data_end) return 0;
      l4 = (__u32)(tcp[12] >> 4) * 4;
      if (l4 < 20) return 0;
    } else {
      return 0;
    }
    const __u32 hdr = M6T_FP_IPV6_HLEN + l4;
    if (inner <= hdr) return 0;
    e->largest = hdr + skb->gso_size;
    e->packets = skb->gso_segs ? skb->gso_segs : (inner - hdr + skb->gso_size - 1) / skb->gso_size;
    e->bytes = inner + (e->packets - 1) * hdr;
  }
  if (e->largest > mtu) return 0;
  return 1;
}

/* The IPv6 packet of an egress skb on a TUN device. A GSO packet (a TCP or UDP super-packet
 * the host's stack leaves the kernel to segment) stands for `packets` packets of at most
 * `largest` bytes: encapsulated once, it is segmented on the way out, each segment behind its
 * own outer headers (the kernel's UDP tunnel segmentation). */
struct egress {
  __u32 len;      /* the skb's IPv6 packet(s), headers once */
  __u32 largest;  /* the largest IPv6 packet it stands for */
  __u32 packets;  /* as the engine would count them */
  __u32 bytes;
};

/* The outer headers become the inner IPv6 packet's: IPv4 -> IPv6 (bpf_skb_change_proto makes
 * room for the 20 bytes IPv6 needs more and sets the skb's protocol; it works on kernels older
 * than 6.3's BPF_F_ADJ_ROOM_DECAP_L3_IPV6), then the IPv4 and UDP headers go, and the frame's
 * EtherType says IPv6. Past the first helper the packet is changed: a failure drops it. */
static __always_inline int decapsulate_into(struct __sk_buff *skb, __u32 tun_ifindex) {
  /* A GSO frame keeps its segment size: the sender sized it for the tunnel's MTU. */
  const __u64 fixed = skb->gso_size ? BPF_F_ADJ_ROOM_FIXED_GSO : 0;
  /* In one step where the kernel can (Linux 6.3: DECAP_L3_IPV6), which leaves the segment size
   * alone, and also resets a GSO frame's UDP-tunnel offload state where it can (DECAP_L4_UDP,
   * kernels after 6.18: without it a decapsulated GSO frame keeps that state, harmless where it
   * is delivered or passed on whole, as on veth, but a physical device segmenting it could
   * not). The flags' values are the kernel's ABI (Debian 12's headers predate them); a kernel
   * refuses an unknown flag before it changes anything. */
  const __s32 encap = -(__s32)M6T_FP_ENCAP_LEN;
  if (bpf_skb_adjust_room(skb, encap, BPF_ADJ_ROOM_MAC,
                          fixed | M6T_BPF_F_ADJ_ROOM_DECAP_L3_IPV6 |
                              (fixed ? M6T_BPF_F_ADJ_ROOM_DECAP_L4_UDP : 0)) != 0 &&
      bpf_skb_adjust_room(skb, encap, BPF_ADJ_ROOM_MAC,
                          fixed | M6T_BPF_F_ADJ_ROOM_DECAP_L3_IPV6) != 0) {
    if (bpf_skb_change_proto(skb, bpf_htons(ETH_P_IPV6), 0)) return failed();
    if (bpf_skb_adjust_room(skb,
                            -(__s32)(M6T_FP_ENCAP_LEN + M6T_FP_IPV6_HLEN - M6T_FP_IPV4_HLEN),
                            BPF_ADJ_ROOM_MAC, fixed))
      return failed();
  }
  __be16 proto = bpf_htons(ETH_P_IPV6);
  if (bpf_skb_store_bytes(skb, __builtin_offsetof(struct ethhdr, h_proto), &proto, sizeof proto, 0))
    return failed();
  return bpf_redirect(tun_ifindex, BPF_F_INGRESS);
}

/* The IPv6 packet at the start of an egress skb (a TUN device: no link-layer header) gets the
 * IPv4 and UDP headers of `o`, and is sent on by the kernel's routing and neighbour tables
 * (bpf_redirect_neigh) out of `out_ifindex`: the interface the peer's datagrams arrive on
 * (decision: answers leave the way the requests came, which is where the NAT's mapping is;
 * asymmetric routing calls for --fast-path off). The outer UDP checksum is zero, as IPv4
 * allows (RFC 768) and as the kernel's own UDP tunnels send by default (VXLAN, FOU): the inner
 * packet carries its own end-to-end checksums. */
static __always_inline int encapsulate(struct __sk_buff *skb, struct outer *o,
                                       const struct egress *e, int df, __u32 out_ifindex) {
  const __u32 len = e->len;
  o->ip.version = 4;
  o->ip.ihl = 5;
  o->ip.tos = 0;
  o->ip.tot_len = bpf_htons(len + M6T_FP_ENCAP_LEN);
  /* DF clear: routers may fragment, and the fragments need an identification. */
  o->ip.id = df ? 0 : (__be16)bpf_get_prandom_u32();
  o->ip.frag_off = df ? bpf_htons(M6T_IP_DF) : 0;
  o->ip.ttl = 64;
  o->ip.protocol = IPPROTO_UDP;
  o->ip.check = 0;
  o->ip.check = (__u16)~fold((__u32)bpf_csum_diff(0, 0, (__be32 *)&o->ip, sizeof o->ip, 0));
  o->udp.len = bpf_htons(len + M6T_FP_UDP_HLEN);
  o->udp.check = 0;

  /* Too large for the way out with the encapsulation: the user-space path's socket lets the
   * kernel fragment it (DF clear) or learn from it (path-MTU mode). */
  __u32 mtu = 0;
  bpf_check_mtu(skb, out_ifindex, &mtu, 0, 0); /* sets mtu to the interface's */
  if (e->largest + M6T_FP_ENCAP_LEN > mtu) return -1;

  /* A GSO packet keeps its segment size: the host's stack sized it for the tunnel's MTU. */
  __u64 flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP;
  if (e->packets > 1 || skb->gso_size) flags |= BPF_F_ADJ_ROOM_FIXED_GSO;
  if (bpf_skb_adjust_room(skb, M6T_FP_ENCAP_LEN, BPF_ADJ_ROOM_MAC, flags)) return -1;
  if (bpf_skb_store_bytes(skb, egress_l2_len, o, sizeof *o, 0)) return failed();
  if (egress_l2_len) {
    /* A test run's frame: its EtherType follows the new outer header. */
    __be16 proto = bpf_htons(ETH_P_IP);
    if (bpf_skb_store_bytes(skb, __builtin_offsetof(struct ethhdr, h_proto), &proto, sizeof proto,
                            0))
      return failed();
  }
  /* bpf_redirect_neigh takes a frame with a link-layer header, which it replaces: an L3
   * device's packet gets room for one. */
  if (!egress_l2_len && bpf_skb_change_head(skb, M6T_FP_ETH_HLEN, 0)) return failed();
  return bpf_redirect_neigh(out_ifindex, 0, 0, 0);
}

static __always_inline void note_in(struct m6t_fp_activity *a, const struct ingress *e,
                                    __u64 now) {
  __sync_fetch_and_add(&a->in_packets, e->packets);
  __sync_fetch_and_add(&a->in_bytes, e->bytes);
  a->last_in_ns = now;
}

static __always_inline void note_out(struct m6t_fp_activity *a, const struct egress *e,
                                     __u64 now) {
  __sync_fetch_and_add(&a->out_packets, e->packets);
  __sync_fetch_and_add(&a->out_bytes, e->bytes);
  a->last_out_ns = now;
}

#define INGRESS_HLEN (M6T_FP_ETH_HLEN + M6T_FP_ENCAP_LEN + M6T_FP_IPV6_HLEN)

/* The headers of an ingress frame, in the linear part (pulled there when they are not). */
static __always_inline int ingress_headers(struct __sk_buff *skb, struct outer **o,
                                           struct ipv6hdr **in6) {
  if (skb->protocol != bpf_htons(ETH_P_IP)) return 0;
  /* A GSO frame's inner TCP header too (its length tells the segments'). */
  const __u32 need = INGRESS_HLEN + (skb->gso_size ? 20 : 0);
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  if (data + need > end) {
    if (skb->len < need || bpf_skb_pull_data(skb, need)) return 0;
    data = (void *)(long)skb->data;
    end = (void *)(long)skb->data_end;
    if (data + need > end) return 0;
  }
  struct ethhdr *eth = data;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return 0;
  *o = data + M6T_FP_ETH_HLEN;
  *in6 = data + M6T_FP_ETH_HLEN + M6T_FP_ENCAP_LEN;
  return 1;
}

static __always_inline int egress_packet(struct __sk_buff *skb, struct ipv6hdr **in6,
                                         struct egress *e) {
  if (skb->protocol != bpf_htons(ETH_P_IPV6)) return 0;
  const __u32 l2 = egress_l2_len;
  if (l2 > M6T_FP_ETH_HLEN) return 0;
  /* The IPv6 header, and a TCP header's data offset when the packet is a GSO one. */
  const __u32 need = l2 + M6T_FP_IPV6_HLEN + (skb->gso_size ? 20 : 0);
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  if (data + need > end) {
    if (skb->len < need || bpf_skb_pull_data(skb, need)) return 0;
    data = (void *)(long)skb->data;
    end = (void *)(long)skb->data_end;
    if (data + need > end) return 0;
  }
  *in6 = data + l2;
  if ((*in6)->version != 6) return 0;
  __u32 len = skb->len - l2;
  if (M6T_FP_IPV6_HLEN + bpf_ntohs((*in6)->payload_len) != len) return 0;
  e->len = e->largest = e->bytes = len;
  e->packets = 1;
  if (!skb->gso_size) return 1;
  __u32 l4;
  if ((*in6)->nexthdr == IPPROTO_TCP) {
    const __u8 *tcp = data + l2 + M6T_FP_IPV6_HLEN;
    if ((void *)(tcp + 13) > end) return 0;
    l4 = (__u32)(tcp[12] >> 4) * 4;
    if (l4 < 20) return 0;
  } else if ((*in6)->nexthdr == IPPROTO_UDP) {
    l4 = M6T_FP_UDP_HLEN;
  } else {
    return 0; /* extension headers: the kernel's segmentation and the engine's */
  }
  const __u32 hdr = M6T_FP_IPV6_HLEN + l4;
  if (len <= hdr || len + M6T_FP_ENCAP_LEN > 0xffff) return 0;
  e->largest = hdr + skb->gso_size;
  e->packets = skb->gso_segs ? skb->gso_segs : (len - hdr + skb->gso_size - 1) / skb->gso_size;
  e->bytes = len + (e->packets - 1) * hdr;
  return 1;
}

SEC("tc")
int m6t_gw_from_nat(struct __sk_buff *skb) {
  struct outer *o;
  struct ipv6hdr *in6;
  if (!ingress_headers(skb, &o, &in6)) return M6T_LEAVE;
  struct m6t_fp_listen lk = {o->ip.daddr, o->udp.dest, 0};
  if (!bpf_map_lookup_elem(&gw_listen, &lk)) {
    lk.addr = 0;
    if (!bpf_map_lookup_elem(&gw_listen, &lk)) return M6T_LEAVE; /* not m6t's */
  }
  __u32 zero = 0;
  struct m6t_fp_gw_config *cfg = bpf_map_lookup_elem(&gw_config, &zero);
  if (!cfg) return pass();
  struct ingress e;
  if (!check_datagram(skb, o, in6, cfg->mtu, &e)) return pass();
  /* §2.4: only an active state's binding, exactly: its NAT address and port, and our
   * address and port it was created on. */
  struct m6t_fp_gw_state *st = bpf_map_lookup_elem(&gw_states, &in6->saddr);
  if (!st) return pass();
  if (st->nat_addr != o->ip.saddr || st->nat_port != o->udp.source ||
      st->local_addr != o->ip.daddr || st->local_port != o->udp.dest)
    return pass();
  /* §6.1.3: toward a home agent only (a keepalive's fe80::1 never is one). */
  if (!bpf_map_lookup_elem(&gw_home_agents, &in6->daddr)) return pass();
  struct m6t_fp_activity *a = bpf_map_lookup_elem(&gw_activity, &in6->saddr);
  if (!a) return pass();
  note_in(a, &e, bpf_ktime_get_ns());
  count_packets(M6T_FP_FORWARDED_IN, e.packets, e.bytes);
  return decapsulate_into(skb, cfg->tun_ifindex);
}

SEC("tc")
int m6t_gw_to_mn(struct __sk_buff *skb) {
  struct ipv6hdr *in6;
  struct egress e;
  if (!egress_packet(skb, &in6, &e)) return M6T_LEAVE;
  struct m6t_fp_gw_state *st = bpf_map_lookup_elem(&gw_states, &in6->daddr);
  if (!st) return pass();                  /* no state, or a temporary one (§3) */
  if (e.largest > st->mtu) return pass();  /* answered with a Packet Too Big (§2.6) */
  struct m6t_fp_activity *a = bpf_map_lookup_elem(&gw_activity, &in6->daddr);
  if (!a) return pass();
  struct outer o = {};
  o.ip.saddr = st->local_addr;
  o.ip.daddr = st->nat_addr;
  o.udp.source = st->local_port;
  o.udp.dest = st->nat_port;
  int df = st->df;
  __u64 now = bpf_ktime_get_ns();
  int rc = encapsulate(skb, &o, &e, df, st->ifindex);
  if (rc < 0) return pass();
  note_out(a, &e, now);
  count_packets(M6T_FP_FORWARDED_OUT, e.packets, e.bytes);
  return rc;
}

SEC("tc")
int m6t_cl_from_gw(struct __sk_buff *skb) {
  struct outer *o;
  struct ipv6hdr *in6;
  if (!ingress_headers(skb, &o, &in6)) return M6T_LEAVE;
  __u32 zero = 0;
  struct m6t_fp_cl_tunnel *t = bpf_map_lookup_elem(&cl_tunnel, &zero);
  if (!t || !t->active) return M6T_LEAVE;
  /* The attachment's socket is connected to the gateway in use: nothing else is its. */
  if (o->ip.daddr != t->local_addr || o->udp.dest != t->local_port) return M6T_LEAVE;
  if (o->ip.saddr != t->gw_addr || o->udp.source != t->gw_port) return pass();
  struct ingress e;
  if (!check_datagram(skb, o, in6, t->mtu, &e)) return pass();
  if (!same_in6(&t->address, &in6->daddr)) return pass();
  /* A spoofed link-local source would make the host take the tunnel for a link; a keepalive
   * answer (from fe80::1) is the engine's. */
  if (link_local_or_multicast(in6->saddr.in6_u.u6_addr8) ||
      unspecified_or_loopback(in6->saddr.in6_u.u6_addr8))
    return pass();
  struct m6t_fp_activity *a = bpf_map_lookup_elem(&cl_activity, &zero);
  if (!a) return pass();
  note_in(a, &e, bpf_ktime_get_ns());
  a->awaiting_since_ns = 0;
  count_packets(M6T_FP_FORWARDED_IN, e.packets, e.bytes);
  return decapsulate_into(skb, t->tun_ifindex);
}

SEC("tc")
int m6t_cl_to_gw(struct __sk_buff *skb) {
  struct ipv6hdr *in6;
  struct egress e;
  if (!egress_packet(skb, &in6, &e)) return M6T_LEAVE;
  __u32 zero = 0;
  struct m6t_fp_cl_tunnel *t = bpf_map_lookup_elem(&cl_tunnel, &zero);
  if (!t || !t->active) return M6T_LEAVE;
  if (!same_in6(&t->address, &in6->saddr)) return pass();
  if (link_local_or_multicast(in6->daddr.in6_u.u6_addr8)) return pass();
  if (e.largest > t->path_mtu) return pass(); /* answered with a Packet Too Big (§2.6) */
  struct m6t_fp_activity *a = bpf_map_lookup_elem(&cl_activity, &zero);
  if (!a) return pass();
  struct outer o = {};
  o.ip.saddr = t->local_addr;
  o.ip.daddr = t->gw_addr;
  o.udp.source = t->local_port;
  o.udp.dest = t->gw_port;
  int df = t->df;
  __u64 now = bpf_ktime_get_ns();
  int rc = encapsulate(skb, &o, &e, df, t->uplink_ifindex);
  if (rc < 0) return pass();
  note_out(a, &e, now);
  if (!a->awaiting_since_ns) a->awaiting_since_ns = now;
  count_packets(M6T_FP_FORWARDED_OUT, e.packets, e.bytes);
  return rc;
}
