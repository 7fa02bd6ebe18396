using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Trac.Hosting.Tests.Support;

/// <summary>Collects log entries and lets a test wait for one with a given event id.</summary>
internal sealed class TestLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly List<(int EventId, TaskCompletionSource<LogEntry> Signal)> _waiters = [];

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public Task<LogEntry> WaitForAsync(int eventId)
    {
        lock (_waiters)
        {
            var existing = _entries.FirstOrDefault(e => e.EventId.Id == eventId);
            if (existing is not null)
            {
                return Task.FromResult(existing);
            }

            var signal = new TaskCompletionSource<LogEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((eventId, signal));
            return signal.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public void Dispose()
    {
    }

    private void Add(LogEntry entry)
    {
        lock (_waiters)
        {
            _entries.Enqueue(entry);
            foreach (var waiter in _waiters.Where(w => w.EventId == entry.EventId.Id).ToList())
            {
                waiter.Signal.TrySetResult(entry);
                _waiters.Remove(waiter);
            }
        }
    }

    internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message);

    private sealed class Logger(TestLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Add(new LogEntry(category, logLevel, eventId, formatter(state, exception)));
    }
}
