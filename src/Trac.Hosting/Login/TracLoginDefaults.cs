namespace Trac.Hosting.Login;

/// <summary>Default values of password-file logins.</summary>
public static class TracLoginDefaults
{
    /// <summary>The name <c>AddTracLogin()</c> gives its authentication scheme.</summary>
    public const string AuthenticationScheme = "TracLogin";
}
