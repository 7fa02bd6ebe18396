using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Common;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// Wires remote-user normalization: its settings from the options, the connection-peer capture a proxy header
/// needs, and the middleware.
/// </summary>
internal sealed class RemoteUserStage(RemoteUserOptions configured, Action<RemoteUserOptions>? configure) : ITracStage
{
    public TracStage Stage => TracStage.NormalizeRemoteUser;

    public IReadOnlyList<TracStage> Requires => [];

    /// <summary>Registers what the stage needs from the host's services (called by <c>AddTrac</c>).</summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<ConnectionPeerCapture>();
        // First among the startup filters, so the TCP peer is recorded before any forwarded-headers processing.
        services.Insert(0, ServiceDescriptor.Transient<IStartupFilter, ConnectionPeerStartupFilter>());
    }

    public void Apply(TracPipelineContext context)
    {
        var options = configured.Clone();
        configure?.Invoke(options);
        var settings = RemoteUserSettings.Create(options);
        var logger = context.CreateLogger("Trac.Hosting.RemoteUser");
        if (settings.UsesHeader)
        {
            context.Services.GetRequiredService<ConnectionPeerCapture>().Enable();
            if (settings.Proxies.IsEmpty)
            {
                RemoteUserLog.HeaderSourceTrustsNoProxy(logger, settings.HeaderName);
            }
        }

        if (context.Services.GetService<Login.TracLogins>() is not null)
        {
            if (settings.LoginPaths.Length == 0)
            {
                throw new InvalidOperationException(
                    "Trac:RemoteUser:ChallengeLoginPaths is false, so the password files of Trac:Login would never be asked: " +
                    "set it to true, or drop AddTracLogin() when the application handles its own login form.");
            }

            if (!settings.Sources.Contains(RemoteUserSource.Principal))
            {
                throw new InvalidOperationException(
                    "Trac:RemoteUser:Sources does not list Principal, so a user logged in with a password file of Trac:Login " +
                    "would not count: add Principal to the sources.");
            }
        }

        context.App.UseMiddleware<RemoteUserMiddleware>(settings, logger);
    }
}
