using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Trac.Hosting.Testing;

/// <summary>One captured log entry.</summary>
/// <param name="Category">The logger's category, such as <c>Trac.Hosting.Workers</c>.</param>
/// <param name="Level">The level.</param>
/// <param name="EventId">The event id and name.</param>
/// <param name="Message">The formatted message.</param>
/// <param name="Exception">The exception logged with it, if any.</param>
public sealed record TracLogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);
