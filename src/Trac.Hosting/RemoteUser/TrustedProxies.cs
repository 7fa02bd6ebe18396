using System.Net;
using System.Net.Sockets;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// The proxies whose user header is trusted: exact addresses and networks. An IPv4 address and its IPv4-mapped
/// IPv6 form (<c>::ffff:127.0.0.1</c>, what a dual-stack listener sees) are the same peer: both forms of every IPv4
/// address and network are kept, so that a peer is compared as it is, without making its other form per request.
/// </summary>
internal sealed class TrustedProxies
{
    private const int MappedPrefixLength = 96;

    private readonly IPAddress[] _addresses;
    private readonly IPNetwork[] _networks;

    public TrustedProxies(IEnumerable<IPAddress> addresses, IEnumerable<IPNetwork> networks)
    {
        var configured = addresses.ToArray();
        _addresses = configured.Select(Canonical).SelectMany(BothForms).Distinct().ToArray();
        _networks = networks.SelectMany(network => network.BaseAddress.AddressFamily == AddressFamily.InterNetwork
            ? [network, new IPNetwork(network.BaseAddress.MapToIPv6(), MappedPrefixLength + network.PrefixLength)]
            : new[] { network }).ToArray();
        IsEmpty = configured.Length == 0 && _networks.Length == 0;
    }

    public bool IsEmpty { get; }

    public bool IsTrusted(IPAddress? peer)
    {
        if (peer is null)
        {
            return false;
        }

        foreach (var address in _addresses)
        {
            if (address.Equals(peer))
            {
                return true;
            }
        }

        foreach (var network in _networks)
        {
            if (network.Contains(peer))
            {
                return true;
            }
        }

        return false;
    }

    private static IPAddress Canonical(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static IPAddress[] BothForms(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork ? [address, address.MapToIPv6()] : [address];
}
