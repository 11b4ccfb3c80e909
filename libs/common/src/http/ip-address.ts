import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** An end user's address: as audited, and the key its IP limits count under. */
export interface LimitedIp {
  /** The address in its one canonical text: IPv4 dotted, IPv6 RFC 5952 compressed. */
  address: string;
  /** The IP limits' key: the IPv4 address, or the /64 network of an IPv6 one. */
  key: string;
}

/**
 * The canonical address and limit key of `value`, or null when it is not one address: the IP
 * limits key on text, so every spelling of one address (IPv4-mapped IPv6, leading zeros, upper
 * case, other compressions) must give the same key. A zone index (`%eth0`) is refused: it names
 * a link of the sender's host, not a different address, and would give unlimited keys.
 */
export function limitedIp(value: string): LimitedIp | null {
  // isIP is strict (dotted-quad IPv4 only, where ipaddr.js would read `127.1` or `0x7f.0.0.1`).
  if (value.includes('%') || isIP(value) === 0) return null;
  const parsed = ipaddr.process(value); // IPv4-mapped IPv6 becomes the IPv4 address
  if (!(parsed instanceof ipaddr.IPv6)) {
    const address = parsed.toString();
    return { address, key: address };
  }
  // One host usually holds a whole /64 (SLAAC, privacy addresses, a prefix per subscriber), so
  // per-address keys would give it 2^64 of them; a /64 is one site, like one NATed IPv4 address.
  const network = new ipaddr.IPv6([...parsed.parts.slice(0, 4), 0, 0, 0, 0]);
  return { address: parsed.toRFC5952String(), key: `${network.toRFC5952String()}/64` };
}
