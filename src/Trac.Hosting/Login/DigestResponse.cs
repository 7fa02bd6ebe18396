using System.Security.Cryptography;
using System.Text;

namespace Trac.Hosting.Login;

/// <summary>
/// A client's answer to a Digest challenge (RFC 7616, algorithm MD5 as htdigest stores it, <c>qop=auth</c>): its
/// parameters parsed from the <c>Authorization</c> header, and checked against the user's HA1.
/// </summary>
internal sealed class DigestResponse
{
    private readonly Dictionary<string, string> _parameters;

    private DigestResponse(Dictionary<string, string> parameters) => _parameters = parameters;

    public string User => _parameters["username"];

    public string Realm => _parameters["realm"];

    public string Nonce => _parameters["nonce"];

    public string Uri => _parameters["uri"];

    public string NonceCount => _parameters["nc"];

    /// <summary>
    /// Parses the parameters after <c>Digest </c>; <see langword="null"/> when one of username, realm, nonce, uri,
    /// response, cnonce, nc is missing or repeated, nc is not 8 hex digits, qop is not <c>auth</c>, or the algorithm is not MD5.
    /// </summary>
    public static DigestResponse? Parse(string parameters)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameters.Length)
        {
            while (i < parameters.Length && (parameters[i] == ',' || char.IsWhiteSpace(parameters[i])))
            {
                i++;
            }

            var equals = parameters.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            var name = parameters[i..equals].Trim();
            i = equals + 1;
            string value;
            if (i < parameters.Length && parameters[i] == '"')
            {
                var text = new StringBuilder();
                for (i++; i < parameters.Length && parameters[i] != '"'; i++)
                {
                    if (parameters[i] == '\\' && i + 1 < parameters.Length)
                    {
                        i++;
                    }

                    text.Append(parameters[i]);
                }

                i++;
                value = text.ToString();
            }
            else
            {
                var end = parameters.IndexOf(',', i);
                value = (end < 0 ? parameters[i..] : parameters[i..end]).Trim();
                i = end < 0 ? parameters.Length : end;
            }

            if (!values.TryAdd(name, value))
            {
                // A repeated parameter is ambiguous: refused.
                return null;
            }
        }

        string[] required = ["username", "realm", "nonce", "uri", "response", "cnonce", "nc", "qop"];
        if (required.Any(r => !values.ContainsKey(r)) || !string.Equals(values["qop"], "auth", StringComparison.Ordinal) ||
            values["nc"] is not { Length: 8 } nc || !nc.All(System.Uri.IsHexDigit) ||
            values.TryGetValue("algorithm", out var algorithm) && !string.Equals(algorithm, "MD5", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return new DigestResponse(values);
    }

    /// <summary>Returns whether the client's response is right for <paramref name="ha1"/> and <paramref name="method"/>, compared in constant time.</summary>
    public bool IsValid(string ha1, string method)
    {
        var ha2 = Digest.Md5Hex($"{method}:{Uri}");
        var expected = Digest.Md5Hex($"{ha1}:{Nonce}:{NonceCount}:{_parameters["cnonce"]}:auth:{ha2}");
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(_parameters["response"].ToLowerInvariant()));
    }
}
