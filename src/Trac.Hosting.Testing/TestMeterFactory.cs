using System.Diagnostics.Metrics;

namespace Trac.Hosting.Testing;

/// <summary>
/// The meter factory of one test host: its meters carry this factory as their scope, so a
/// <see cref="TracTestMetrics"/> made for it hears this host only, from the host's first measurement on.
/// </summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_meters)
        {
            // Same name, version and tags: the same meter, as the framework's factory does.
            var existing = _meters.Find(m => m.Name == options.Name && m.Version == options.Version && SameTags(m.Tags, options.Tags));
            if (existing is not null)
            {
                return existing;
            }

            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            _meters.Add(meter);
            return meter;
        }
    }

    public void Dispose()
    {
        lock (_meters)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }

            _meters.Clear();
        }
    }

    private static bool SameTags(IEnumerable<KeyValuePair<string, object?>>? a, IEnumerable<KeyValuePair<string, object?>>? b) =>
        (a ?? []).OrderBy(t => t.Key, StringComparer.Ordinal).SequenceEqual((b ?? []).OrderBy(t => t.Key, StringComparer.Ordinal));
}
