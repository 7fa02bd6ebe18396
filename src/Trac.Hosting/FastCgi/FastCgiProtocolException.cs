namespace Trac.Hosting.FastCgi;

/// <summary>The application sent what the FastCGI protocol does not allow: the connection cannot be trusted any more.</summary>
internal sealed class FastCgiProtocolException(string message) : Exception(message);
