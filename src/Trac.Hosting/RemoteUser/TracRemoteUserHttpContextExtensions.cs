using Trac.Hosting;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Common;

namespace Microsoft.AspNetCore.Http;

/// <summary>
/// Reads the result of Trac remote-user normalization from an <see cref="HttpContext"/>.
/// </summary>
public static class TracRemoteUserHttpContextExtensions
{
    /// <summary>
    /// Gets the canonical remote user name, or <see langword="null"/> when the request is anonymous or the
    /// remote-user stage has not run.
    /// </summary>
    /// <param name="context">The request's context.</param>
    /// <returns>The user name, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is <see langword="null"/>.</exception>
    public static string? GetRemoteUser(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RequestFeatures.Get<ITracRemoteUserFeature>(context)?.RemoteUser;
    }
}
