namespace Trac.Hosting.RemoteUser;

/// <summary>How the case of a remote user name is folded, always with the invariant culture.</summary>
public enum RemoteUserCase
{
    /// <summary>Keep the name as it came (after Unicode normalization).</summary>
    Preserve,

    /// <summary>Lower-case the name, like Trac's <c>[trac] ignore_auth_case</c>.</summary>
    Lower,

    /// <summary>Upper-case the name, like Apache's <c>SSPIUsernameCase upper</c>.</summary>
    Upper,
}
