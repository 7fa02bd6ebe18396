using Trac.Hosting.Common;
namespace Trac.Hosting.RemoteUser;

/// <summary>
/// Options of the remote-user normalization stage: where the user name comes from, which proxies may set it, and
/// how it is brought to one canonical spelling. Bound from the <c>Trac:RemoteUser</c> configuration section.
/// </summary>
public sealed class RemoteUserOptions
{
    /// <summary>The default <see cref="HeaderName"/>.</summary>
    public const string DefaultHeaderName = "X-Remote-User";

    /// <summary>The default <see cref="MaxLength"/>.</summary>
    public const int DefaultMaxLength = 256;

    /// <summary>
    /// Gets the sources of the user name, in the order they are asked. The first that holds a name wins; an empty
    /// or anonymous value counts as no name, so the next source is asked.
    /// </summary>
    /// <value>Empty, which means <see cref="RemoteUserSource.Principal"/>, <see cref="RemoteUserSource.ServerVariable"/>,
    /// <see cref="RemoteUserSource.Header"/> in that order. Any list you set replaces that default.</value>
    public IList<RemoteUserSource> Sources { get; } = new List<RemoteUserSource>();

    /// <summary>Gets or sets the name of the header a trusted reverse proxy puts the user name in.</summary>
    /// <value><c>X-Remote-User</c>.</value>
    public string HeaderName { get; set; } = DefaultHeaderName;

    /// <summary>
    /// Gets the addresses of the reverse proxies whose <see cref="HeaderName"/> header is trusted, decided by the
    /// TCP peer of the connection (also when <c>UseForwardedHeaders</c> rewrote <c>RemoteIpAddress</c>). IPv4
    /// addresses also match their IPv4-mapped IPv6 form.
    /// </summary>
    /// <value>Empty: no proxy is trusted until one is configured.</value>
    public IList<string> KnownProxies { get; } = new List<string>();

    /// <summary>
    /// Gets the networks, in CIDR notation such as <c>10.0.0.0/8</c>, whose proxies are trusted (named as .NET 10's
    /// <c>ForwardedHeadersOptions.KnownIPNetworks</c>).
    /// </summary>
    /// <value>Empty.</value>
    public IList<string> KnownIPNetworks { get; } = new List<string>();

    /// <summary>
    /// Gets or sets a value indicating whether a Windows domain is cut off: <c>CORP\alice</c> becomes
    /// <c>alice</c> (Apache's <c>SSPIOmitDomain</c>, the seeds' IIS fix). A name with two or more <c>\</c> is refused.
    /// </summary>
    /// <value><see langword="true"/>. Users of different domains with the same name then become one user; list
    /// <see cref="LocalDomains"/> when more than one domain can log in.</value>
    public bool StripDomain { get; set; } = true;

    /// <summary>
    /// Gets the Windows domains whose users are local when <see cref="StripDomain"/> is on (compared
    /// case-insensitively). When any domain is listed, a name from another domain is refused, so that
    /// <c>OTHER\alice</c> cannot become <c>CORP\alice</c>'s <c>alice</c>.
    /// </summary>
    /// <value>Empty: every domain is stripped, as Apache's <c>SSPIOmitDomain</c> does.</value>
    public IList<string> LocalDomains { get; } = new List<string>();

    /// <summary>
    /// Gets the Kerberos realms whose users are local: <c>alice@CORP.EXAMPLE.COM</c> becomes <c>alice</c> when
    /// <c>CORP.EXAMPLE.COM</c> is listed (compared case-insensitively). When any realm is listed, a name from another
    /// realm is refused. A multi-component principal (<c>alice/admin@REALM</c>) is always refused.
    /// </summary>
    /// <value>Empty: <c>user@domain</c> names are kept as they are.</value>
    public IList<string> LocalRealms { get; } = new List<string>();

    /// <summary>Gets or sets how the case of the name is folded (with the invariant culture).</summary>
    /// <value><see cref="RemoteUserCase.Preserve"/>.</value>
    public RemoteUserCase Case { get; set; } = RemoteUserCase.Preserve;

    /// <summary>Gets or sets the longest accepted name, in UTF-16 code units; longer names are refused.</summary>
    /// <value>256.</value>
    public int MaxLength { get; set; } = DefaultMaxLength;

    /// <summary>Gets or sets a value indicating whether machine accounts (names ending with <c>$</c>) are accepted.</summary>
    /// <value><see langword="false"/>.</value>
    public bool AllowMachineAccounts { get; set; }

    /// <summary>
    /// Gets the paths, relative to the environment's <c>PathBase</c>, that need a user: a request there without one
    /// is challenged through the host's default authentication scheme (the seeds'
    /// <c>&lt;LocationMatch /([a-z_]+)/login&gt; Require valid-user</c>).
    /// </summary>
    /// <value>Empty, which means <c>/login</c>. Any list you set replaces that default.</value>
    public IList<string> LoginPaths { get; } = new List<string>();

    /// <summary>
    /// Gets or sets a value indicating whether requests to <see cref="LoginPaths"/> without a user are challenged.
    /// Turn it off when the application handles its own login form there (as Trac's AccountManager plugin does).
    /// </summary>
    /// <value><see langword="true"/>.</value>
    public bool ChallengeLoginPaths { get; set; } = true;

    internal RemoteUserOptions Clone()
    {
        var clone = new RemoteUserOptions
        {
            HeaderName = HeaderName,
            StripDomain = StripDomain,
            Case = Case,
            MaxLength = MaxLength,
            AllowMachineAccounts = AllowMachineAccounts,
            ChallengeLoginPaths = ChallengeLoginPaths,
        };
        Lists.CopyTo(Sources, clone.Sources);
        Lists.CopyTo(KnownProxies, clone.KnownProxies);
        Lists.CopyTo(KnownIPNetworks, clone.KnownIPNetworks);
        Lists.CopyTo(LocalRealms, clone.LocalRealms);
        Lists.CopyTo(LocalDomains, clone.LocalDomains);
        Lists.CopyTo(LoginPaths, clone.LoginPaths);
        return clone;
    }

    /// <summary>Returns whether every option still has its default value (nothing was configured).</summary>
    internal bool IsDefault()
    {
        var defaults = new RemoteUserOptions();
        return Sources.Count == 0 && KnownProxies.Count == 0 && KnownIPNetworks.Count == 0 && LocalRealms.Count == 0 &&
            LocalDomains.Count == 0 && LoginPaths.Count == 0 && HeaderName == defaults.HeaderName &&
            StripDomain == defaults.StripDomain && Case == defaults.Case && MaxLength == defaults.MaxLength &&
            AllowMachineAccounts == defaults.AllowMachineAccounts && ChallengeLoginPaths == defaults.ChallengeLoginPaths;
    }
}
