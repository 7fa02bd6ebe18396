using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Trac.Hosting.Testing;

/// <summary>
/// Records the measurements of the <c>Trac.Hosting</c> meter (requests, recycles by reason, drain and start
/// durations, unload failures, ...) for assertions. Dispose it to stop listening.
/// </summary>
public sealed class TracTestMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<TracMeasurement> _measurements = new();

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
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Trac.Hosting" && (meterFactory is null || ReferenceEquals(instrument.Meter.Scope, meterFactory)))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Gets every measurement so far.</summary>
    public IReadOnlyCollection<TracMeasurement> Measurements => _measurements;

    /// <summary>Returns the sum of an instrument's measurements, such as <c>trac.worker.recycles</c>.</summary>
    /// <param name="instrument">The instrument's name.</param>
    /// <param name="tag">Only measurements with this tag value, such as <c>("reason", "maximum_requests")</c>.</param>
    /// <returns>The sum.</returns>
    public double Sum(string instrument, (string Key, string Value)? tag = null) =>
        _measurements.Where(m => m.Instrument == instrument && (tag is not { } t || (m.Tags.TryGetValue(t.Key, out var v) && Equals(v, t.Value))))
            .Sum(m => m.Value);

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        _measurements.Enqueue(new TracMeasurement(instrument.Name, value, copy));
    }
}
