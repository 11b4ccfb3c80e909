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
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(value); // IPv4-mapped IPv6 becomes the IPv4 address
  } catch {
    return null; // not seen for what isIP accepts; a limit must not throw
  }
  const embedded = parsed instanceof ipaddr.IPv6 ? embeddedIpv4(parsed) : parsed;
  if (embedded) {
    const address = embedded.toString();
    return { address, key: address };
  }
  // One host usually holds a whole /64 (SLAAC, privacy addresses, a prefix per subscriber), so
  // per-address keys would give it 2^64 of them; a /64 is one site, like one NATed IPv4 address.
  const v6 = parsed as ipaddr.IPv6;
  const network = new ipaddr.IPv6([...v6.parts.slice(0, 4), 0, 0, 0, 0]);
  return { address: v6.toRFC5952String(), key: `${network.toRFC5952String()}/64` };
}

/**
 * The IPv4 address an IPv6 one carries in its last 32 bits, where it stands for that IPv4 host:
 * the deprecated IPv4-compatible form (`::1.2.3.4`, which ipaddr.js reads as IPv4 when written
 * so but not as `0:0:0:0:0:0:1.2.3.4`) and the NAT64 well-known prefix (`64:ff9b::/96`).
 * Otherwise undefined; `::` and `::1` stay IPv6.
 */
function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const [a, b, c, d, e, f, high, low] = address.parts;
  const compatible = a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0 && high !== 0;
  if (!compatible && address.range() !== 'rfc6052') return undefined;
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}
