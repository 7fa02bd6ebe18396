using System.Net;
using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.RemoteUser;

/// <summary>The effective, validated settings of one remote-user stage. Immutable.</summary>
internal sealed class RemoteUserSettings
{
    private static readonly RemoteUserSource[] s_defaultSources = [RemoteUserSource.Principal, RemoteUserSource.ServerVariable, RemoteUserSource.Header];

    private RemoteUserSettings()
    {
    }

    public RemoteUserSource[] Sources { get; private init; } = [];

    public string HeaderName { get; private init; } = RemoteUserOptions.DefaultHeaderName;

    /// <summary>Gets the header name with <c>-</c> and <c>_</c> made equal, to find look-alike headers.</summary>
    public string HeaderLookAlike { get; private init; } = string.Empty;

    /// <summary>
    /// Gets every spelling of a look-alike header (each <c>-</c> or <c>_</c> of the name as either), to ask the
    /// case-insensitive header collection for each instead of going through all headers; <see langword="null"/> when
    /// the name has too many separators for that.
    /// </summary>
    public string[]? LookAlikeSpellings { get; private init; }

    public bool UsesHeader { get; private init; }

    public TrustedProxies Proxies { get; private init; } = new([], []);

    public RemoteUserNormalizer Normalizer { get; private init; } = null!;

    public PathString[] LoginPaths { get; private init; } = [];

    /// <exception cref="InvalidOperationException">The options are invalid; the message says how to fix them.</exception>
    public static RemoteUserSettings Create(RemoteUserOptions options)
    {
        var errors = Validate(options);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", errors));
        }

        var sources = options.Sources.Count == 0 ? s_defaultSources : options.Sources.ToArray();
        var loginPaths = options.LoginPaths.Count == 0 ? ["/login"] : options.LoginPaths.Where(p => !string.IsNullOrWhiteSpace(p)).ToArray();
        return new RemoteUserSettings
        {
            Sources = sources,
            HeaderName = options.HeaderName,
            HeaderLookAlike = LookAlike(options.HeaderName),
            LookAlikeSpellings = LookAlikeSpellingsOf(options.HeaderName),
            UsesHeader = sources.Contains(RemoteUserSource.Header),
            Proxies = new TrustedProxies(
                options.KnownProxies.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => IPAddress.Parse(p.Trim())),
                options.KnownIPNetworks.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => IPNetwork.Parse(n.Trim()))),
            Normalizer = RemoteUserNormalizer.Create(options),
            LoginPaths = options.ChallengeLoginPaths ? loginPaths.Select(p => new PathString(p.TrimEnd('/') is { Length: > 0 } t ? t : "/")).ToArray() : [],
        };
    }

    /// <summary>Returns the problems of <paramref name="options"/>, each naming the key to fix.</summary>
    public static List<string> Validate(RemoteUserOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.HeaderName) || options.HeaderName.Any(c => c <= ' ' || c >= 127 || c == ':'))
        {
            errors.Add($"Trac:RemoteUser:HeaderName '{options.HeaderName}' is not a header name. Use a name such as '{RemoteUserOptions.DefaultHeaderName}'.");
        }

        foreach (var duplicate in options.Sources.GroupBy(s => s).Where(g => g.Count() > 1))
        {
            errors.Add($"Trac:RemoteUser:Sources lists {duplicate.Key} more than once; list each source once, in the order to ask them.");
        }

        foreach (var proxy in options.KnownProxies.Where(p => !string.IsNullOrWhiteSpace(p) && !IPAddress.TryParse(p.Trim(), out _)))
        {
            errors.Add($"Trac:RemoteUser:KnownProxies '{proxy}' is not an IP address. Use an address such as '127.0.0.1' or '::1'.");
        }

        foreach (var network in options.KnownIPNetworks.Where(n => !string.IsNullOrWhiteSpace(n) && !IPNetwork.TryParse(n.Trim(), out _)))
        {
            errors.Add($"Trac:RemoteUser:KnownIPNetworks '{network}' is not a network in CIDR notation. Use a value such as '10.0.0.0/8'.");
        }

        if (options.MaxLength < 1)
        {
            errors.Add($"Trac:RemoteUser:MaxLength {options.MaxLength} must be at least 1 (the default is {RemoteUserOptions.DefaultMaxLength}).");
        }

        foreach (var path in options.LoginPaths.Where(p => !string.IsNullOrWhiteSpace(p) && p[0] != '/'))
        {
            errors.Add($"Trac:RemoteUser:LoginPaths '{path}' must start with '/', such as '/login'.");
        }

        foreach (var domain in options.LocalDomains.Where(d => d?.Contains('\\', StringComparison.Ordinal) == true))
        {
            errors.Add($"Trac:RemoteUser:LocalDomains '{domain}' holds a '\\'; list the domain alone, such as 'CORP'.");
        }

        if (!Enum.IsDefined(options.Case))
        {
            errors.Add($"Trac:RemoteUser:Case '{options.Case}' is not one of Preserve, Lower, Upper.");
        }

        return errors;
    }

    /// <summary>Returns whether a header name is the user header's look-alike (same letters, '-' and '_' swapped).</summary>
    public bool IsLookAlike(string headerName) =>
        headerName.Length == HeaderLookAlike.Length &&
        !headerName.Equals(HeaderName, StringComparison.OrdinalIgnoreCase) &&
        LookAlike(headerName).Equals(HeaderLookAlike, StringComparison.OrdinalIgnoreCase);

    private static string LookAlike(string name) => name.Replace('_', '-');

    private static string[]? LookAlikeSpellingsOf(string name)
    {
        const int MaxSeparators = 4;
        var separators = new List<int>();
        for (var i = 0; i < name.Length; i++)
        {
            if (name[i] is '-' or '_')
            {
                separators.Add(i);
            }
        }

        if (separators.Count > MaxSeparators)
        {
            return null;
        }

        var spellings = new List<string>();
        for (var combination = 0; combination < 1 << separators.Count; combination++)
        {
            var spelling = name.ToCharArray();
            for (var bit = 0; bit < separators.Count; bit++)
            {
                spelling[separators[bit]] = (combination & (1 << bit)) != 0 ? '_' : '-';
            }

            var candidate = new string(spelling);
            if (!candidate.Equals(name, StringComparison.Ordinal))
            {
                spellings.Add(candidate);
            }
        }

        return [.. spellings];
    }
}
