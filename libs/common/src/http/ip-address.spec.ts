import { limitedIp } from './ip-address';

describe('limitedIp', () => {
  it.each(['203.0.113.9', '::ffff:203.0.113.9', '::FFFF:cb00:7109', '0:0:0:0:0:ffff:203.0.113.9'])(
    'reads %p as the IPv4 address 203.0.113.9',
    (value) => {
      expect(limitedIp(value)).toEqual({ address: '203.0.113.9', key: '203.0.113.9' });
    },
  );

  it.each(['2001:db8::1', '2001:db8:0::1', '2001:0db8::1', '2001:DB8:0:0:0:0:0:1'])(
    'reads %p in its one RFC 5952 form, keyed by its /64',
    (value) => {
      expect(limitedIp(value)).toEqual({ address: '2001:db8::1', key: '2001:db8::/64' });
    },
  );

  it.each(['::1.2.3.4', '0:0:0:0:0:0:1.2.3.4', '::102:304', '64:ff9b::1.2.3.4'])(
    'reads %p, an IPv4 host in IPv6 clothes, as 1.2.3.4 in every spelling',
    (value) => {
      expect(limitedIp(value)).toEqual({ address: '1.2.3.4', key: '1.2.3.4' });
    },
  );

  it('keeps the loopback and unspecified addresses IPv6', () => {
    expect(limitedIp('::1')).toEqual({ address: '::1', key: '::/64' });
    expect(limitedIp('0:0:0:0:0:0:0:0')).toEqual({ address: '::', key: '::/64' });
  });

  it('keys every address of one /64 alike, and other /64s apart', () => {
    expect(limitedIp('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toEqual({
      address: '2001:db8:1:2:aaaa:bbbb:cccc:dddd',
      key: '2001:db8:1:2::/64',
    });
    expect(limitedIp('2001:db8:1:2::7')?.key).toBe('2001:db8:1:2::/64');
    expect(limitedIp('2001:db8:1:3::7')?.key).toBe('2001:db8:1:3::/64');
  });

  it('compresses the leftmost longest zero run, and never a single zero (RFC 5952 4.2)', () => {
    expect(limitedIp('2001:db8:0:0:1:0:0:1')?.address).toBe('2001:db8::1:0:0:1');
    expect(limitedIp('2001:db8:0:1:1:1:1:1')?.address).toBe('2001:db8:0:1:1:1:1:1');
    expect(limitedIp('0:0:0:0:0:0:0:1')?.address).toBe('::1');
  });

  it.each([
    '2001:db8::1%eth0',
    'fe80::1%1',
    '::ffff:203.0.113.9%0',
    '203.0.113.9%eth0',
    '127.1',
    '0x7f.0.0.1',
    '010.0.0.1',
    ' 203.0.113.9',
    '203.0.113.9/32',
    '2001:db8::/64',
    'not-an-ip',
    '',
  ])('refuses %p', (value) => {
    expect(limitedIp(value)).toBeNull();
  });
});
