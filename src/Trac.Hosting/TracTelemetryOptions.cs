namespace Trac.Hosting;

/// <summary>
/// Options of the <c>Trac.Hosting</c> meter and activity source, bound from the <c>Trac:Telemetry</c> configuration
/// section. Names, tags and spans: <c>docs/telemetry.md</c>.
/// </summary>
public sealed class TracTelemetryOptions
{
    /// <summary>
    /// Gets or sets a value indicating whether measurements about one project carry its name as the
    /// <c>trac.project</c> attribute (each project then has its own series: keep it off on a host with many projects,
    /// where the series would cost a metrics back end more than they tell). The worker spans always carry it.
    /// </summary>
    /// <value><see langword="false"/>.</value>
    public bool ProjectAttribute { get; set; }
}
