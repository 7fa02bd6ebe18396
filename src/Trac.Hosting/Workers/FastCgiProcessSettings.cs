namespace Trac.Hosting.Workers;

/// <summary>
/// How to run a FastCGI application as a worker process: the command and its arguments (<c>{socket}</c> stands for
/// the Unix socket it must listen on), its process variables, where its private socket directories go, and how long
/// it may take to stop after <c>SIGTERM</c>.
/// </summary>
internal sealed record FastCgiProcessSettings(
    string Command, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment, string SocketRoot, TimeSpan StopGrace)
{
    /// <summary>The argument placeholder for the socket path.</summary>
    public const string SocketPlaceholder = "{socket}";
}
