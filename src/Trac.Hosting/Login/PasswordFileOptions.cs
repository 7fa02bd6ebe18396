namespace Trac.Hosting.Login;

/// <summary>
/// One password file of <see cref="LoginOptions.Files"/>: where it is, its format, and the realm the browser shows
/// (tracd's <c>--basic-auth project,file,realm</c> or <c>--auth project,file,realm</c>).
/// </summary>
public sealed class PasswordFileOptions
{
    /// <summary>The default <see cref="Realm"/>.</summary>
    public const string DefaultRealm = "Trac";

    /// <summary>Gets or sets the path of the file; a relative path is taken from the content root.</summary>
    /// <value>Unset: required.</value>
    public string? Path { get; set; }

    /// <summary>Gets or sets the format of the file, which decides whether users log in with Basic or Digest.</summary>
    /// <value><see cref="PasswordFileFormat.Htpasswd"/>.</value>
    public PasswordFileFormat Format { get; set; } = PasswordFileFormat.Htpasswd;

    /// <summary>
    /// Gets or sets the realm: shown by the browser's login dialog, and for an htdigest file the realm whose users
    /// may log in (the second field of each line, the realm given to <c>htdigest</c>).
    /// </summary>
    /// <value><c>Trac</c>.</value>
    public string Realm { get; set; } = DefaultRealm;

    internal PasswordFileOptions Clone() => new() { Path = Path, Format = Format, Realm = Realm };
}
