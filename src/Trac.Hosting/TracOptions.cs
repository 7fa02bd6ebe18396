using Trac.Hosting.Environments;
using Trac.Hosting.FastCgi;
using Trac.Hosting.Login;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Workers;
using Trac.Hosting.RemoteUser;

namespace Trac.Hosting;

/// <summary>
/// Options for Trac hosting, bound from the <c>Trac</c> configuration section.
/// </summary>
/// <remarks>
/// Each stage has its own sub-section (<c>Trac:Environment</c>, ...). Values left unset fall back to
/// the process variables Trac's own front ends read (<c>TRAC_ENV</c>, <c>TRAC_ENV_PARENT_DIR</c>, ...);
/// see <see cref="EnvironmentOptions"/>.
/// </remarks>
public sealed class TracOptions
{
    /// <summary>
    /// Gets the options of the environment resolution stage (section <c>Trac:Environment</c>).
    /// </summary>
    public EnvironmentOptions Environment { get; } = new();

    /// <summary>
    /// Gets the options of the remote-user normalization stage (section <c>Trac:RemoteUser</c>).
    /// </summary>
    public RemoteUserOptions RemoteUser { get; } = new();

    /// <summary>
    /// Gets the options of password-file logins, for <c>AddAuthentication().AddTracLogin()</c> (section <c>Trac:Login</c>).
    /// </summary>
    public LoginOptions Login { get; } = new();

    /// <summary>
    /// Gets the options of the plugin (egg) cache stage (section <c>Trac:PluginCache</c>).
    /// </summary>
    public PluginCacheOptions PluginCache { get; } = new();

    /// <summary>
    /// Gets the options of the worker recycling stage (section <c>Trac:Workers</c>).
    /// </summary>
    public WorkerOptions Workers { get; } = new();

    /// <summary>
    /// Gets the options of real Trac's worker processes, for <c>DispatchToTrac()</c> (section <c>Trac:Python</c>).
    /// </summary>
    public TracProcessOptions Python { get; } = new();

    /// <summary>
    /// Gets the options of general FastCGI worker processes, for <c>DispatchToFastCgi()</c> (section <c>Trac:FastCgi</c>).
    /// </summary>
    public FastCgiOptions FastCgi { get; } = new();

    /// <summary>
    /// Gets the options of the <c>Trac.Hosting</c> meter and activity source (section <c>Trac:Telemetry</c>).
    /// </summary>
    public TracTelemetryOptions Telemetry { get; } = new();

    /// <summary>Gets the names of the configuration sections present when the options were bound (for <c>UseTrac()</c>).</summary>
    internal HashSet<string> ConfiguredSections { get; } = new(StringComparer.OrdinalIgnoreCase);
}
