using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Trac.Hosting.Testing;

/// <summary>
/// A logger provider whose loggers are <see cref="FakeLogger"/>s writing to one <see cref="FakeLogCollector"/>
/// (<c>Microsoft.Extensions.Diagnostics.Testing</c>), for assertions on what Trac.Hosting (or anything else) logged,
/// and which lets a test wait for an entry by event name or condition instead of sleeping.
/// </summary>
public sealed class TracTestLogs : ILoggerProvider
{
    private readonly List<Waiter> _waiters = [];

    /// <summary>Creates a provider with a collector of its own.</summary>
    public TracTestLogs()
        : this(new FakeLogCollector())
    {
    }

    /// <summary>Creates a provider that writes to <paramref name="collector"/>, such as one a test already inspects.</summary>
    /// <param name="collector">The collector.</param>
    public TracTestLogs(FakeLogCollector collector)
    {
        ArgumentNullException.ThrowIfNull(collector);
        Collector = collector;
    }

    /// <summary>Gets the collector every entry goes to.</summary>
    public FakeLogCollector Collector { get; }

    /// <summary>Gets the entries so far, in order.</summary>
    public IReadOnlyList<FakeLogRecord> Entries => Collector.GetSnapshot();

    /// <summary>Returns the first entry with the event name (such as <c>WorkerSwitched</c>), waiting for it if needed.</summary>
    /// <param name="eventName">The event name.</param>
    /// <param name="timeout">How long to wait; 30 seconds by default.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="TimeoutException">No such entry was logged in time.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "The overloads differ in their required first parameter (a name or a condition), so no call is ambiguous; both shipped together.")]
    public Task<FakeLogRecord> WaitForAsync(string eventName, TimeSpan? timeout = null) =>
        WaitForAsync(e => e.Id.Name == eventName, timeout);

    /// <summary>Returns the first entry matching <paramref name="match"/> ever logged, waiting for it if needed.</summary>
    /// <param name="match">The condition.</param>
    /// <param name="timeout">How long to wait; 30 seconds by default.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="TimeoutException">No such entry was logged in time.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "The overloads differ in their required first parameter (a name or a condition), so no call is ambiguous; both shipped together.")]
    public Task<FakeLogRecord> WaitForAsync(Func<FakeLogRecord, bool> match, TimeSpan? timeout = null) => Wait(match, timeout, includeEarlier: true);

    /// <summary>
    /// Returns the next entry with the event name logged after this call, waiting for it: for the second reload, the
    /// second recycle. Call it before causing the event.
    /// </summary>
    /// <param name="eventName">The event name.</param>
    /// <param name="timeout">How long to wait; 30 seconds by default.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="TimeoutException">No such entry was logged in time.</exception>
    public Task<FakeLogRecord> WaitForNextAsync(string eventName, TimeSpan? timeout = null) =>
        Wait(e => e.Id.Name == eventName, timeout, includeEarlier: false);

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, new FakeLogger(Collector, categoryName));

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private Task<FakeLogRecord> Wait(Func<FakeLogRecord, bool> match, TimeSpan? timeout, bool includeEarlier)
    {
        ArgumentNullException.ThrowIfNull(match);
        Waiter waiter;
        lock (_waiters)
        {
            var entries = Collector.GetSnapshot();
            if (includeEarlier && entries.FirstOrDefault(match) is { } existing)
            {
                return Task.FromResult(existing);
            }

            waiter = new Waiter(match, entries.Count);
            _waiters.Add(waiter);
        }

        return WaitBounded(waiter, timeout ?? TimeSpan.FromSeconds(30));
    }

    private async Task<FakeLogRecord> WaitBounded(Waiter waiter, TimeSpan timeout)
    {
        try
        {
            return await waiter.Signal.Task.WaitAsync(timeout);
        }
        finally
        {
            // A waiter that timed out is forgotten.
            lock (_waiters)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>Offers the entries logged since each waiter last looked to it.</summary>
    private void Offer()
    {
        lock (_waiters)
        {
            if (_waiters.Count == 0)
            {
                return;
            }

            var entries = Collector.GetSnapshot();
            foreach (var waiter in _waiters.ToList())
            {
                for (; waiter.From < entries.Count; waiter.From++)
                {
                    if (waiter.Match(entries[waiter.From]))
                    {
                        waiter.Signal.TrySetResult(entries[waiter.From]);
                        _waiters.Remove(waiter);
                        break;
                    }
                }
            }
        }
    }

    private sealed class Waiter(Func<FakeLogRecord, bool> match, int from)
    {
        public Func<FakeLogRecord, bool> Match { get; } = match;

        public TaskCompletionSource<FakeLogRecord> Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Gets or sets the index of the first entry not yet offered.</summary>
        public int From { get; set; } = from;
    }

    private sealed class Logger(TracTestLogs owner, FakeLogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
            owner.Offer();
        }
    }
}
