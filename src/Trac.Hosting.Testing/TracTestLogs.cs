using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Trac.Hosting.Testing;

/// <summary>
/// A logger provider that keeps every entry, for assertions on what Trac.Hosting (or anything else) logged, and
/// lets a test wait for an entry by event id or name instead of sleeping.
/// </summary>
public sealed class TracTestLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<TracLogEntry> _entries = new();
    private readonly List<(Func<TracLogEntry, bool> Match, TaskCompletionSource<TracLogEntry> Signal)> _waiters = [];

    /// <summary>Gets the entries so far, in order.</summary>
    public IReadOnlyCollection<TracLogEntry> Entries => _entries;

    /// <summary>Returns the first entry with the event name (such as <c>WorkerSwitched</c>), waiting for it if needed.</summary>
    /// <param name="eventName">The event name.</param>
    /// <param name="timeout">How long to wait; 30 seconds by default.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="TimeoutException">No such entry was logged in time.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "The overloads differ in their required first parameter (a name or a condition), so no call is ambiguous; both shipped together.")]
    public Task<TracLogEntry> WaitForAsync(string eventName, TimeSpan? timeout = null) =>
        WaitForAsync(e => e.EventId.Name == eventName, timeout);

    /// <summary>Returns the first entry matching <paramref name="match"/> ever logged, waiting for it if needed.</summary>
    /// <param name="match">The condition.</param>
    /// <param name="timeout">How long to wait; 30 seconds by default.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="TimeoutException">No such entry was logged in time.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "The overloads differ in their required first parameter (a name or a condition), so no call is ambiguous; both shipped together.")]
    public Task<TracLogEntry> WaitForAsync(Func<TracLogEntry, bool> match, TimeSpan? timeout = null) => Wait(match, timeout, includeEarlier: true);

    /// <summary>
    /// Returns the next entry with the event name logged after this call, waiting for it: for the second reload, the
    /// second recycle. Call it before causing the event.
    /// </summary>
    /// <param name="eventName">The event name.</param>
    /// <param name="timeout">How long to wait; 30 seconds by default.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="TimeoutException">No such entry was logged in time.</exception>
    public Task<TracLogEntry> WaitForNextAsync(string eventName, TimeSpan? timeout = null) =>
        Wait(e => e.EventId.Name == eventName, timeout, includeEarlier: false);

    private Task<TracLogEntry> Wait(Func<TracLogEntry, bool> match, TimeSpan? timeout, bool includeEarlier)
    {
        ArgumentNullException.ThrowIfNull(match);
        TaskCompletionSource<TracLogEntry> signal;
        lock (_waiters)
        {
            if (includeEarlier && _entries.FirstOrDefault(match) is { } existing)
            {
                return Task.FromResult(existing);
            }

            signal = new TaskCompletionSource<TracLogEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, signal));
        }

        return WaitBounded(signal, timeout ?? TimeSpan.FromSeconds(30));
    }

    private async Task<TracLogEntry> WaitBounded(TaskCompletionSource<TracLogEntry> signal, TimeSpan timeout)
    {
        try
        {
            return await signal.Task.WaitAsync(timeout);
        }
        finally
        {
            // A waiter that timed out is forgotten.
            lock (_waiters)
            {
                _waiters.RemoveAll(w => w.Signal == signal);
            }
        }
    }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private void Add(TracLogEntry entry)
    {
        lock (_waiters)
        {
            _entries.Enqueue(entry);
            foreach (var waiter in _waiters.Where(w => w.Match(entry)).ToList())
            {
                waiter.Signal.TrySetResult(entry);
                _waiters.Remove(waiter);
            }
        }
    }

    private sealed class Logger(TracTestLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            owner.Add(new TracLogEntry(category, logLevel, eventId, formatter(state, exception), exception));
        }
    }
}
