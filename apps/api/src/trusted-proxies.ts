/**
 * TRUST_PROXY for Fastify. A hop count (README: "their number") is given as the function
 * proxy-addr used to build from it, believing the last `hops` addresses whoever they are: Fastify
 * 5.12 stopped trusting a bare number (a client that reaches the service without the balancer
 * could name its own address), and would otherwise have put every user behind the balancer's one
 * address, and so under one per-IP limit. Only safe when PORT is reachable through the balancer
 * alone (docs/security.md); addresses or CIDRs are the safer setting.
 */
export function trustedProxies(
  trust: boolean | number | string[],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust !== 'number') return trust;
  return (_address, hop) => hop < trust;
}
