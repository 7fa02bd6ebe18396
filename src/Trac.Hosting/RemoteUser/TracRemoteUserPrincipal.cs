using System.Security.Claims;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// The principal the remote-user stage puts in <c>HttpContext.User</c> when normalization changed the name of an
/// authenticated principal (<c>CORP\Alice</c> → <c>alice</c>): its primary identity carries the normalized name and
/// keeps the authentication type and every other claim, and role checks go to the original principal, so Windows
/// group names (<c>IsInRole(@"CORP\Developers")</c>) keep working.
/// </summary>
public sealed class TracRemoteUserPrincipal : ClaimsPrincipal
{
    internal TracRemoteUserPrincipal(ClaimsPrincipal original, string name)
        : base(Rename(original, name))
    {
        OriginalPrincipal = original;
    }

    /// <summary>
    /// Gets the principal as authentication produced it, for what needs the original identity itself (Windows
    /// impersonation with <c>WindowsIdentity.RunImpersonated</c>, for example).
    /// </summary>
    public ClaimsPrincipal OriginalPrincipal { get; }

    /// <inheritdoc />
    public override bool IsInRole(string role) => OriginalPrincipal.IsInRole(role);

    private static IEnumerable<ClaimsIdentity> Rename(ClaimsPrincipal principal, string name)
    {
        var primary = (ClaimsIdentity)principal.Identity!;
        var renamed = new ClaimsIdentity(
            primary.Claims.Where(c => c.Type != primary.NameClaimType).Append(new Claim(primary.NameClaimType, name)),
            primary.AuthenticationType,
            primary.NameClaimType,
            primary.RoleClaimType);
        return principal.Identities.Select(identity => ReferenceEquals(identity, primary) ? renamed : identity);
    }
}
