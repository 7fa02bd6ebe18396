namespace Trac.Hosting.RemoteUser;

/// <summary>The kinds of <see cref="RemoteUserResult"/>.</summary>
internal enum RemoteUserOutcome
{
    Anonymous,
    User,
    Malformed,
    Refused,
}
