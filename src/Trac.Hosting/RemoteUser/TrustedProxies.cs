using System.Net;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// The proxies whose user header is trusted: exact addresses and networks. An IPv4 address and its IPv4-mapped
/// IPv6 form (<c>::ffff:127.0.0.1</c>) are the same peer.
/// </summary>
internal sealed class TrustedProxies
{
    private readonly IPAddress[] _addresses;
    private readonly IPNetwork[] _networks;

    public TrustedProxies(IEnumerable<IPAddress> addresses, IEnumerable<IPNetwork> networks)
    {
        _addresses = addresses.Select(Canonical).ToArray();
        _networks = networks.ToArray();
    }

    public bool IsEmpty => _addresses.Length == 0 && _networks.Length == 0;

    public bool IsTrusted(IPAddress? peer)
    {
        if (peer is null)
        {
            return false;
        }

        var canonical = Canonical(peer);
        foreach (var address in _addresses)
        {
            if (address.Equals(canonical))
            {
                return true;
            }
        }

        foreach (var network in _networks)
        {
            if (network.Contains(canonical) || network.Contains(peer))
            {
                return true;
            }
        }

        return false;
    }

    private static IPAddress Canonical(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
