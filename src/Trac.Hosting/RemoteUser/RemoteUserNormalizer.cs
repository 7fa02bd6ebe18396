using System.Globalization;
using System.Text;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// Brings a raw remote user value to its one canonical spelling, or says why it is refused. Pure and
/// culture-independent; idempotent: a canonical name normalizes to itself.
/// </summary>
internal sealed class RemoteUserNormalizer
{
    private static readonly string[] s_anonymousLogons = [@"NT AUTHORITY\ANONYMOUS LOGON", "ANONYMOUS LOGON"];
    private static readonly string[] s_reservedNames = ["anonymous", "authenticated"];

    private readonly bool _stripDomain;
    private readonly string[] _localDomains;
    private readonly string[] _localRealms;
    private readonly RemoteUserCase _case;
    private readonly int _maxLength;
    private readonly bool _allowMachineAccounts;

    public RemoteUserNormalizer(
        bool stripDomain, IEnumerable<string> localRealms, RemoteUserCase @case, int maxLength, bool allowMachineAccounts, IEnumerable<string>? localDomains = null)
    {
        _stripDomain = stripDomain;
        _localDomains = (localDomains ?? []).Where(d => !string.IsNullOrWhiteSpace(d)).Select(d => d.Trim()).ToArray();
        _localRealms = localRealms.Where(r => !string.IsNullOrWhiteSpace(r)).Select(r => r.Trim()).ToArray();
        _case = @case;
        _maxLength = maxLength;
        _allowMachineAccounts = allowMachineAccounts;
    }

    public static RemoteUserNormalizer Create(RemoteUserOptions options) =>
        new(options.StripDomain, options.LocalRealms, options.Case, options.MaxLength, options.AllowMachineAccounts, options.LocalDomains);

    public RemoteUserResult Normalize(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return RemoteUserResult.Anonymous;
        }

        // Bound the work before looking closer: the cap applies to the raw value too.
        if (raw.Length - 64 > _maxLength)
        {
            return RemoteUserResult.Malformed(RemoteUserRefusalReason.TooLong);
        }

        // Checked before trimming: a trailing CR/LF is an injection attempt, not a blank to forgive.
        if (HasControlOrFormatCharacter(raw))
        {
            return RemoteUserResult.Malformed(RemoteUserRefusalReason.ControlCharacter);
        }

        var name = raw.Trim();

        if (name == "(null)")
        {
            return RemoteUserResult.Malformed(RemoteUserRefusalReason.NullLiteral);
        }

        if (name.Contains(',', StringComparison.Ordinal))
        {
            return RemoteUserResult.Malformed(RemoteUserRefusalReason.List);
        }

        if (s_anonymousLogons.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return RemoteUserResult.Anonymous;
        }

        var backslash = name.IndexOf('\\', StringComparison.Ordinal);
        if (backslash >= 0)
        {
            if (name.IndexOf('\\', backslash + 1) >= 0)
            {
                return RemoteUserResult.Malformed(RemoteUserRefusalReason.NestedDomain);
            }

            if (_stripDomain)
            {
                if (_localDomains.Length > 0 && !_localDomains.Contains(name[..backslash].Trim(), StringComparer.OrdinalIgnoreCase))
                {
                    return RemoteUserResult.Refused(RemoteUserRefusalReason.ForeignDomain);
                }

                name = name[(backslash + 1)..].Trim();
            }
        }

        var at = name.LastIndexOf('@');
        if (at >= 0)
        {
            var user = name[..at].Trim();
            var realm = name[(at + 1)..].Trim();
            if (user.Length == 0 || realm.Length == 0 || user.Contains('@', StringComparison.Ordinal))
            {
                return RemoteUserResult.Malformed(RemoteUserRefusalReason.MalformedPrincipal);
            }

            if (user.Contains('/', StringComparison.Ordinal))
            {
                return RemoteUserResult.Refused(RemoteUserRefusalReason.MultiComponentPrincipal);
            }

            if (_localRealms.Length > 0)
            {
                if (!_localRealms.Contains(realm, StringComparer.OrdinalIgnoreCase))
                {
                    return RemoteUserResult.Refused(RemoteUserRefusalReason.ForeignRealm);
                }

                name = user;
            }
        }

        // What stripping uncovered gets the same checks as the whole value had.
        if (name == "(null)")
        {
            return RemoteUserResult.Malformed(RemoteUserRefusalReason.NullLiteral);
        }

        if (s_anonymousLogons.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return RemoteUserResult.Anonymous;
        }

        name = Fold(name.Normalize(NormalizationForm.FormC));
        if (name.Length == 0)
        {
            return RemoteUserResult.Malformed(RemoteUserRefusalReason.EmptyAfterStripping);
        }

        if (name.Length > _maxLength)
        {
            return RemoteUserResult.Malformed(RemoteUserRefusalReason.TooLong);
        }

        if (!_allowMachineAccounts && name[^1] == '$')
        {
            return RemoteUserResult.Refused(RemoteUserRefusalReason.MachineAccount);
        }

        if (s_reservedNames.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return RemoteUserResult.Refused(RemoteUserRefusalReason.ReservedName);
        }

        return RemoteUserResult.User(name);
    }

    private string Fold(string name)
    {
        // Folding can leave a string that is no longer in NFC; normalizing again keeps f(f(x)) == f(x).
        var folded = _case switch
        {
            RemoteUserCase.Lower => name.ToLowerInvariant(),
            RemoteUserCase.Upper => name.ToUpperInvariant(),
            _ => name,
        };
        return ReferenceEquals(folded, name) ? name : folded.Normalize(NormalizationForm.FormC);
    }

    private static bool HasControlOrFormatCharacter(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                return true;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return true;
                }

                if (CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, value[++i])) == UnicodeCategory.Format)
                {
                    return true;
                }
            }
            else if (char.IsLowSurrogate(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                return true;
            }
        }

        return false;
    }
}
