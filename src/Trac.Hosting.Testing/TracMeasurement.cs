namespace Trac.Hosting.Testing;

/// <summary>One recorded measurement, of any instrument of the <c>Trac.Hosting</c> meter.</summary>
/// <param name="Instrument">The instrument's name.</param>
/// <param name="Value">The value (counts and durations alike).</param>
/// <param name="Tags">Its tags.</param>
public sealed record TracMeasurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);
