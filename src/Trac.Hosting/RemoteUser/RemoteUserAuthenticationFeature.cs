using System.Security.Claims;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Trac.Hosting.Common;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// The user of a request whose name came from the <c>REMOTE_USER</c> server variable or a trusted proxy's header, as
/// <c>HttpContext.User</c> sees it: the principal is made the first time it is read, so a dispatch that never reads
/// <c>User</c> does not pay for one, and every request that does gets a principal of its own. Where the server keeps
/// state per connection (<see cref="IPersistentStateFeature"/>, as Kestrel does), one instance serves the requests of
/// the connection in turn, like the server's own features.
/// </summary>
internal sealed class RemoteUserAuthenticationFeature : IHttpAuthenticationFeature
{
    private static readonly object s_stateKey = new();

    private string _name = string.Empty;
    private string _authenticationType = string.Empty;
    private ClaimsPrincipal? _user;
    private bool _made;

    public ClaimsPrincipal? User
    {
        get
        {
            if (!_made)
            {
                _user = Principal(_name, _authenticationType);
                _made = true;
            }

            return _user;
        }

        set
        {
            _user = value;
            _made = true;
        }
    }

    /// <summary>Makes <paramref name="name"/> the request's user, authenticated by <paramref name="authenticationType"/>.</summary>
    public static void SetUser(HttpContext context, string name, string authenticationType)
    {
        if (context is not DefaultHttpContext || RequestFeatures.Get<IHttpAuthenticationFeature>(context) is not null)
        {
            // The user was read or set already, maybe with more beside it (an authentication middleware keeps its
            // result next to it): replace it the ordinary way.
            context.User = Principal(name, authenticationType);
            return;
        }

        var feature = ForConnection(context);
        feature._name = name;
        feature._authenticationType = authenticationType;
        feature._user = null;
        feature._made = false;
        RequestFeatures.Set<IHttpAuthenticationFeature>(context, feature);
    }

    private static ClaimsPrincipal Principal(string name, string authenticationType) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], authenticationType));

    // Only called when the request has no authentication feature, so the connection's instance is not in use: the
    // connection's previous request has ended, and the server cleared its features.
    private static RemoteUserAuthenticationFeature ForConnection(HttpContext context)
    {
        if (RequestFeatures.Get<IPersistentStateFeature>(context)?.State is not { } state)
        {
            return new RemoteUserAuthenticationFeature();
        }

        if (state.TryGetValue(s_stateKey, out var kept) && kept is RemoteUserAuthenticationFeature feature)
        {
            return feature;
        }

        feature = new RemoteUserAuthenticationFeature();
        state[s_stateKey] = feature;
        return feature;
    }
}
