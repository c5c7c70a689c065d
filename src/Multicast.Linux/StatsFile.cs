using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;
using Multicast.Core.Config;

namespace Multicast.Linux;

/// <summary>
/// The daemon's stats file, rewritten every second: a reader always opens a whole file, old or new.
/// </summary>
/// <remarks>
/// The write runs on the same machine as the data plane, once a second in every daemon. Writing a temporary file and
/// renaming it over the old one creates an inode and frees one each time: on this project's ext4 VM that was ~340 µs of
/// kernel time (median, against ~110 µs for the swap below), which a PREEMPT_NONE kernel does not interrupt, so a
/// data-plane thread that yields its CPU to the writer waits it out while datagrams queue. On Linux the file therefore
/// keeps a hidden twin (<c>.NAME.next</c>): each write goes into the twin in place and one renameat2(RENAME_EXCHANGE)
/// swaps the two names. Elsewhere, or where the file system cannot exchange, it falls back to temporary + rename.
/// </remarks>
public sealed class StatsFile
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    private readonly string _path;
    private readonly ArrayBufferWriter<byte> _text = new(4096);
    private Utf8JsonWriter? _writer;
    private bool _exchange = OperatingSystem.IsLinux();
    // Where the last write went: the path itself, or the file a symlink at the path points to.
    private string _target;
    private string _twin;

    public StatsFile(string path)
    {
        _path = Path.GetFullPath(path);
        _target = _path;
        _twin = TwinOf(_path);
    }

    private static string TwinOf(string file) => Path.Combine(Path.GetDirectoryName(file)!, $".{Path.GetFileName(file)}.next");

    /// <summary>
    /// Writes the document that <paramref name="render"/> writes. The text buffer and the JSON writer are kept from one
    /// write to the next, so a write allocates nothing of its own however many groups and members the document lists
    /// (a DOM of 4,096 members was ~2 MB a second, and gen2 collections that stop the data plane).
    /// </summary>
    public void Write(Action<Utf8JsonWriter> render)
    {
        _text.ResetWrittenCount();
        if (_writer is null) _writer = new Utf8JsonWriter(_text, Indented);
        else _writer.Reset(_text);
        render(_writer);
        _writer.Flush();
        _text.Write("\n"u8);
        FollowSymlink();
        if (_exchange && TryExchange()) return;
        ConfigFile.SaveAtomically(_target, _text.WrittenSpan, durable: false);
    }

    public void Write(JsonObject content) => Write(w => content.WriteTo(w));

    /// <summary>Removes the twin; the stats file itself stays for whoever reads the last figures.</summary>
    public void RemoveTwin()
    {
        try { File.Delete(_twin); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>
    /// An admin who made the stats file a symlink (to a tmpfs, to a monitoring agent's directory) keeps it: the file it
    /// points to is the one swapped with a twin beside it. Swapping the link itself would move it to the twin's name,
    /// and the next write would go through it in place, where a reader can see half a file.
    /// </summary>
    private void FollowSymlink()
    {
        string target = _path;
        try
        {
            if (File.ResolveLinkTarget(_path, returnFinalTarget: true) is FileSystemInfo link) target = link.FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // a link loop or an unreadable link: write the path itself
        if (target == _target) return;
        RemoveTwin();
        _target = target;
        _twin = TwinOf(target);
    }

    private bool TryExchange()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_target)!);
        using (SafeFileHandle twin = File.OpenHandle(_twin, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite))
        {
            RandomAccess.Write(twin, _text.WrittenSpan, 0);
            if (RandomAccess.GetLength(twin) > _text.WrittenCount) RandomAccess.SetLength(twin, _text.WrittenCount);
        }
        switch (FileExchange.Exchange(_twin, _target))
        {
            case FileExchange.Result.Exchanged:
                return true;
            case FileExchange.Result.Missing:
                // The first write (or the file was deleted): the twin becomes the file, and the next write makes a new twin.
                File.Move(_twin, _target, overwrite: true);
                return true;
            default:
                _exchange = false;
                RemoveTwin();
                return false;
        }
    }
}
