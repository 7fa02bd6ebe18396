namespace Trac.Hosting.RemoteUser;

/// <summary>The outcome of normalizing one remote user value.</summary>
internal readonly struct RemoteUserResult
{
    private RemoteUserResult(RemoteUserOutcome outcome, string? name, RemoteUserRefusalReason? reason)
    {
        Outcome = outcome;
        Name = name;
        Reason = reason;
    }

    public static RemoteUserResult Anonymous => default;

    public RemoteUserOutcome Outcome { get; }

    /// <summary>Gets the canonical name when <see cref="Outcome"/> is <see cref="RemoteUserOutcome.User"/>.</summary>
    public string? Name { get; }

    /// <summary>Gets why the value was refused, for logs and metrics (never for the client).</summary>
    public RemoteUserRefusalReason? Reason { get; }

    public static RemoteUserResult User(string name) => new(RemoteUserOutcome.User, name, null);

    /// <summary>A value that cannot be a user name: 400.</summary>
    public static RemoteUserResult Malformed(RemoteUserRefusalReason reason) => new(RemoteUserOutcome.Malformed, null, reason);

    /// <summary>A well-formed name that policy does not accept: 403.</summary>
    public static RemoteUserResult Refused(RemoteUserRefusalReason reason) => new(RemoteUserOutcome.Refused, null, reason);

    public override string ToString() => Outcome == RemoteUserOutcome.User ? $"User({Name})" : $"{Outcome}({Reason})";
}
