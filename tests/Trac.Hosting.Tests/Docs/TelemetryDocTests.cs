using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text.RegularExpressions;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Tests.Docs;

/// <summary>docs/telemetry.md lists every instrument of the meter and every span of the activity source, and nothing else.</summary>
public sealed partial class TelemetryDocTests
{
    private static readonly Lazy<string> Doc = new(() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Docs", "telemetry.md")));

    public static TheoryData<string> Instruments() => new(InstrumentNames());

    public static TheoryData<string> Spans() => new(SpanNames());

    [Theory]
    [MemberData(nameof(Instruments))]
    public void EveryInstrument_HasARow(string instrument) =>
        Assert.True(Rows().Contains(instrument), $"docs/telemetry.md has no row for the instrument `{instrument}`.");

    [Theory]
    [MemberData(nameof(Instruments))]
    public void EveryInstrumentsRow_GivesItsTypeAndUnit(string instrument)
    {
        using var metrics = new TracMetrics(meterFactory: null);
        var real = typeof(TracMetrics).GetProperties()
            .Where(p => typeof(Instrument).IsAssignableFrom(p.PropertyType))
            .Select(p => (Instrument)p.GetValue(metrics)!)
            .Single(i => i.Name == instrument);
        var kind = real.GetType().GetGenericTypeDefinition() switch
        {
            var t when t == typeof(Counter<>) => "counter",
            var t when t == typeof(UpDownCounter<>) => "up-down counter",
            var t when t == typeof(Histogram<>) => "histogram",
            var t => t.Name,
        };
        var row = Doc.Value.Split('\n').Single(l => l.StartsWith($"| `{instrument}` |", StringComparison.Ordinal)).Split('|');

        Assert.True(row[2].Trim() == kind, $"docs/telemetry.md says `{instrument}` is a {row[2].Trim()}; it is a {kind}.");
        Assert.True(row[3].Trim() == $"`{real.Unit}`", $"docs/telemetry.md gives `{instrument}` the unit {row[3].Trim()}; it is `{real.Unit}`.");
    }

    [Theory]
    [MemberData(nameof(Spans))]
    public void EverySpan_HasARow(string span) =>
        Assert.True(Rows().Contains(span), $"docs/telemetry.md has no row for the span `{span}`.");

    [Fact]
    public void EveryRow_IsAnInstrumentOrASpan()
    {
        var known = InstrumentNames().Concat(SpanNames()).ToHashSet(StringComparer.Ordinal);

        Assert.All(Rows(), row =>
            Assert.True(known.Contains(row), $"docs/telemetry.md lists `{row}`, which the meter and the activity source do not have."));
        Assert.True(known.Count >= 18, "the reflection found too few instruments and spans to guard anything");
    }

    private static List<string> InstrumentNames()
    {
        using var metrics = new TracMetrics(meterFactory: null);
        return typeof(TracMetrics).GetProperties()
            .Where(p => typeof(Instrument).IsAssignableFrom(p.PropertyType))
            .Select(p => ((Instrument)p.GetValue(metrics)!).Name)
            .ToList();
    }

    private static List<string> SpanNames() =>
        typeof(TracActivities).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && !f.Name.EndsWith("Tag", StringComparison.Ordinal) && f.Name != nameof(TracActivities.SourceName))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();

    // The first cells of the instrument and span tables.
    private static HashSet<string> Rows() => Table("## Instruments").Concat(Table("## Spans")).ToHashSet(StringComparer.Ordinal);

    private static IEnumerable<string> Table(string heading)
    {
        var text = Doc.Value;
        var start = text.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/telemetry.md has no '{heading}' section.");
        var end = text.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        var section = end < 0 ? text[start..] : text[start..end];
        return FirstCell().Matches(section).Select(m => m.Groups[1].Value);
    }

    [GeneratedRegex(@"^\| `([^`]+)` \|", RegexOptions.Multiline)]
    private static partial Regex FirstCell();
}
