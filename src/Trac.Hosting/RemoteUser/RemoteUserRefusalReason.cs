namespace Trac.Hosting.RemoteUser;

/// <summary>
/// Why a remote user value was refused: a fixed vocabulary, so that counting, metrics and logs never carry the value
/// itself. Each reason belongs to one outcome: a malformed value gets 400, a refused one 403.
/// </summary>
internal enum RemoteUserRefusalReason
{
    /// <summary>Longer than <see cref="RemoteUserOptions.MaxLength"/> (malformed).</summary>
    TooLong,

    /// <summary>A control or format character, or a lone surrogate (malformed).</summary>
    ControlCharacter,

    /// <summary>The literal <c>(null)</c> Apache sends for a missing value (malformed).</summary>
    NullLiteral,

    /// <summary>A comma-separated list (malformed).</summary>
    List,

    /// <summary>More than one <c>\</c> (malformed).</summary>
    NestedDomain,

    /// <summary>Not of the form <c>user@REALM</c> (malformed).</summary>
    MalformedPrincipal,

    /// <summary>Nothing left once the domain or realm is cut (malformed).</summary>
    EmptyAfterStripping,

    /// <summary>The user header sent more than once (malformed).</summary>
    RepeatedHeader,

    /// <summary>A domain not listed in <see cref="RemoteUserOptions.LocalDomains"/> (refused).</summary>
    ForeignDomain,

    /// <summary>A realm not listed in <see cref="RemoteUserOptions.LocalRealms"/> (refused).</summary>
    ForeignRealm,

    /// <summary>A multi-component principal such as <c>alice/admin@REALM</c> (refused).</summary>
    MultiComponentPrincipal,

    /// <summary>A machine account, ending with <c>$</c> (refused).</summary>
    MachineAccount,

    /// <summary>A name Trac reserves for a group: <c>anonymous</c>, <c>authenticated</c> (refused).</summary>
    ReservedName,
}
