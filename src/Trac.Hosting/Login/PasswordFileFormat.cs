namespace Trac.Hosting.Login;

/// <summary>The kind of a password file, and so the HTTP authentication scheme its users log in with.</summary>
public enum PasswordFileFormat
{
    /// <summary>
    /// An htpasswd file (<c>user:hash</c>, as Apache's <c>htpasswd</c> writes it: bcrypt, MD5 <c>$apr1$</c>, SHA-256 and
    /// SHA-512 crypt, <c>{SHA}</c>); users log in with HTTP Basic (tracd's <c>--basic-auth</c>).
    /// </summary>
    Htpasswd,

    /// <summary>
    /// An htdigest file (<c>user:realm:HA1</c>, as Apache's <c>htdigest</c> writes it); users log in with HTTP Digest,
    /// MD5 and <c>qop=auth</c> (tracd's <c>--auth</c>), so a browser never sends the password. A client that sends
    /// Basic credentials unasked (<c>curl -u</c>) is checked against the same file.
    /// </summary>
    Htdigest,
}
