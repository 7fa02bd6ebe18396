namespace Trac.Hosting.FastCgi;

/// <summary>
/// Options of a general FastCGI worker process: any command that runs a FastCGI responder listening on the address
/// it is given. Bound from the <c>Trac:FastCgi</c> configuration section; used by <c>DispatchToFastCgi()</c>.
/// </summary>
public sealed class FastCgiOptions : FastCgiProcessOptions
{
    /// <summary>The argument placeholder replaced by the address the process must listen on: the Unix socket's path, or <c>127.0.0.1:port</c>.</summary>
    public const string AddressPlaceholder = "{address}";

    /// <summary>Gets or sets the program to run (a path, or a name looked up on <c>PATH</c>).</summary>
    /// <value><see langword="null"/>: must be set.</value>
    public string? Command { get; set; }

    /// <summary>
    /// Gets the program's arguments; <see cref="AddressPlaceholder"/> (<c>{address}</c>) in any of them is replaced by
    /// the address the process must listen on.
    /// </summary>
    public IList<string> Arguments { get; } = [];

    internal FastCgiOptions Clone()
    {
        var clone = new FastCgiOptions { Command = Command };
        CopyTo(clone);
        foreach (var argument in Arguments)
        {
            clone.Arguments.Add(argument);
        }

        return clone;
    }
}
