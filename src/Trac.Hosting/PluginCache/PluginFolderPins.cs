namespace Trac.Hosting.PluginCache;

/// <summary>
/// The folders builds in progress are about to use, counted per folder: the stale clean-up never moves one away, as
/// it decides under the same lock the builds pin with.
/// </summary>
internal sealed class PluginFolderPins
{
    private readonly Dictionary<string, int> _pins = new(StringComparer.Ordinal);

    public void Pin(string folder)
    {
        lock (_pins)
        {
            _pins[folder] = _pins.GetValueOrDefault(folder) + 1;
        }
    }

    public void Unpin(IEnumerable<string> folders)
    {
        lock (_pins)
        {
            foreach (var folder in folders)
            {
                if (--_pins[folder] == 0)
                {
                    _pins.Remove(folder);
                }
            }
        }
    }

    /// <summary>Moves <paramref name="folder"/> to <paramref name="destination"/> unless it is pinned; returns whether it did.</summary>
    public bool MoveUnlessPinned(string folder, string destination)
    {
        lock (_pins)
        {
            if (_pins.ContainsKey(folder))
            {
                return false;
            }

            Directory.Move(folder, destination);
            return true;
        }
    }
}
