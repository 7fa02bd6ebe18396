using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Trac.Hosting.Testing;

/// <summary>
/// Records the measurements of the <c>Trac.Hosting</c> meter (environment resolutions, requests, recycles by reason,
/// durations, ...) for assertions: one <see cref="MetricCollector{T}"/> (<c>Microsoft.Extensions.Diagnostics.Testing</c>)
/// per instrument, made as the instrument is created so that no measurement is missed, and sums across them. Dispose
/// it to stop listening.
/// </summary>
public sealed class TracTestMetrics : IDisposable
{
    private const string MeterName = "Trac.Hosting";

    private readonly MeterListener _discovery = new();
    private readonly ConcurrentQueue<(string Instrument, IDisposable Collector)> _collectors = new();

    /// <summary>Starts listening to the <c>Trac.Hosting</c> meter of every host in the process.</summary>
    public TracTestMetrics()
        : this(null)
    {
    }

    /// <summary>
    /// Starts listening to the <c>Trac.Hosting</c> meter of one host: the one whose meters
    /// <paramref name="meterFactory"/> creates (<see langword="null"/>: every host).
    /// </summary>
    /// <param name="meterFactory">The host's <see cref="IMeterFactory"/>.</param>
    public TracTestMetrics(IMeterFactory? meterFactory)
    {
        // Told of each instrument as it is created, before its first measurement: its collector hears them all.
        _discovery.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name != MeterName || (meterFactory is not null && !ReferenceEquals(instrument.Meter.Scope, meterFactory)))
            {
                return;
            }

            IDisposable? collector = instrument switch
            {
                Instrument<long> counts => new MetricCollector<long>(counts),
                Instrument<double> values => new MetricCollector<double>(values),
                _ => null,
            };
            if (collector is not null)
            {
                _collectors.Enqueue((instrument.Name, collector));
            }
        };
        _discovery.Start();
    }

    /// <summary>Gets every measurement so far, oldest first.</summary>
    public IReadOnlyCollection<TracMeasurement> Measurements =>
        _collectors.SelectMany(c => c.Collector switch
            {
                MetricCollector<long> counts => counts.GetMeasurementSnapshot().Select(m => (m.Timestamp, Measurement: new TracMeasurement(c.Instrument, m.Value, m.Tags))),
                MetricCollector<double> values => values.GetMeasurementSnapshot().Select(m => (m.Timestamp, Measurement: new TracMeasurement(c.Instrument, m.Value, m.Tags))),
                _ => [],
            })
            .OrderBy(m => m.Timestamp)
            .Select(m => m.Measurement)
            .ToList();

    /// <summary>Returns the sum of an instrument's measurements, such as <c>trac.worker.recycles</c>.</summary>
    /// <param name="instrument">The instrument's name.</param>
    /// <param name="tag">Only measurements with this tag value, such as <c>("trac.worker.recycle.reason", "maximum_requests")</c>.</param>
    /// <returns>The sum.</returns>
    public double Sum(string instrument, (string Key, string Value)? tag = null) =>
        Measurements.Where(m => m.Instrument == instrument && (tag is not { } t || (m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value))))
            .Sum(m => m.Value);

    /// <summary>
    /// Returns the collector of one instrument (for its <c>WaitForMeasurementsAsync</c>, <c>LastMeasurement</c>,
    /// ...): <see langword="long"/> for counters, <see langword="double"/> for durations. With several hosts (the
    /// parameterless constructor), the first host's.
    /// </summary>
    /// <typeparam name="T">The instrument's type.</typeparam>
    /// <param name="instrument">The instrument's name, such as <c>trac.worker.recycles</c>.</param>
    /// <returns>The collector.</returns>
    /// <exception cref="InvalidOperationException">No such instrument was created (yet), or it measures another type.</exception>
    public MetricCollector<T> Collector<T>(string instrument)
        where T : struct
    {
        ArgumentException.ThrowIfNullOrEmpty(instrument);
        foreach (var (name, collector) in _collectors)
        {
            if (name == instrument)
            {
                return collector as MetricCollector<T> ?? throw new InvalidOperationException(
                    $"The instrument '{instrument}' does not measure {typeof(T).Name}: counters are long, durations double.");
            }
        }

        throw new InvalidOperationException(
            $"The Trac.Hosting meter has no instrument named '{instrument}' (yet): instruments are created with the host's Trac services. " +
            $"Known: {string.Join(", ", _collectors.Select(c => c.Instrument).Distinct().Order(StringComparer.Ordinal))}.");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _discovery.Dispose();
        foreach (var (_, collector) in _collectors)
        {
            collector.Dispose();
        }
    }
}
