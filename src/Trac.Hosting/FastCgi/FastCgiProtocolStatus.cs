namespace Trac.Hosting.FastCgi;

/// <summary>How an application ended a request, in its <c>FCGI_END_REQUEST</c> record (section 5.5).</summary>
internal enum FastCgiProtocolStatus : byte
{
    /// <summary>The request was handled (its application status says how it went).</summary>
    RequestComplete = 0,

    /// <summary>The application does not take several requests on one connection.</summary>
    CantMultiplexConnection = 1,

    /// <summary>The application is out of a resource (a database connection, a thread).</summary>
    Overloaded = 2,

    /// <summary>The application does not play the role asked for.</summary>
    UnknownRole = 3,
}
