namespace DayTrading.Audit;

/// <summary>
/// Where a DUMPLOG file may go (SPEC §5): only under the configured dump directory. The name is a relative path
/// (<c>userLOG</c>, <c>./testLOG</c>, <c>sub/dir/file.xml</c>; <c>/</c> or <c>\</c> separate folders); absolute and
/// drive-qualified paths, any <c>..</c> segment, names of directories, characters not allowed in file names on
/// Linux or Windows, and folders that are symbolic links are refused.
/// </summary>
public static class DumpPaths
{
    public const int MaxSegmentLength = 255;
    public const int MaxNameLength = 1024;

    // The union of what Linux and Windows refuse in a file name, so a dump name means the same on both.
    private static readonly char[] InvalidChars = ['<', '>', ':', '"', '|', '?', '*', '\0'];

    /// <summary>
    /// Resolves <paramref name="fileName"/> under <paramref name="dumpDirectory"/>. On success <paramref name="fullPath"/>
    /// is absolute and strictly inside the directory (its folders may not exist yet: the dump creates them).
    /// </summary>
    public static bool TryResolve(string dumpDirectory, string fileName, out string fullPath, out string? error)
    {
        fullPath = "";
        error = Check(dumpDirectory, fileName, ref fullPath);
        if (error is not null) fullPath = "";
        return error is null;
    }

    private static string? Check(string dumpDirectory, string fileName, ref string fullPath)
    {
        if (string.IsNullOrWhiteSpace(dumpDirectory)) return "no dump directory is configured";
        if (string.IsNullOrWhiteSpace(fileName)) return "file name is empty";
        if (fileName.Length > MaxNameLength) return $"file name is longer than {MaxNameLength} characters";
        if (fileName.Trim() != fileName) return $"file name '{fileName}' starts or ends with white space";
        if (fileName[0] is '/' or '\\' || Path.IsPathRooted(fileName) || (fileName.Length >= 2 && fileName[1] == ':'))
            return $"file name '{fileName}' is an absolute path: give a name relative to the dump directory";
        foreach (var c in fileName)
        {
            if (char.IsControl(c) || Array.IndexOf(InvalidChars, c) >= 0)
                return $"file name '{Printable(fileName)}' contains '{Printable(c.ToString())}', which is not allowed in file names";
        }

        var segments = new List<string>();
        foreach (var segment in fileName.Split('/', '\\'))
        {
            if (segment.Length == 0 || segment == ".") continue;
            if (segment == "..") return $"file name '{fileName}' contains '..': a dump may not leave the dump directory";
            if (segment.Trim('.').Length == 0) return $"file name '{fileName}' has a segment made only of dots ('{segment}')";
            if (segment.EndsWith(' ') || segment.EndsWith('.')) return $"file name '{fileName}' has a segment ending in a space or dot ('{segment}')";
            if (segment.Length > MaxSegmentLength) return $"file name '{fileName}' has a segment longer than {MaxSegmentLength} characters";
            segments.Add(segment);
        }
        if (segments.Count == 0 || fileName[^1] is '/' or '\\' || fileName.EndsWith("/.", StringComparison.Ordinal)
            || fileName.EndsWith("\\.", StringComparison.Ordinal))
            return $"file name '{fileName}' names a directory, not a file";

        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dumpDirectory));
        var full = Path.GetFullPath(Path.Combine([root, .. segments]));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            return $"file name '{fileName}' resolves outside the dump directory";
        if (Directory.Exists(full)) return $"file name '{fileName}' is a directory in the dump directory";

        // A folder on the way that is a symbolic link could lead anywhere: refuse it.
        var dir = root;
        for (var i = 0; i < segments.Count - 1; i++)
        {
            dir = Path.Combine(dir, segments[i]);
            var info = new DirectoryInfo(dir);
            if (!info.Exists)
            {
                if (File.Exists(dir)) return $"'{segments[i]}' in '{fileName}' is a file, not a folder";
                break;
            }
            if (info.LinkTarget is not null) return $"folder '{segments[i]}' in '{fileName}' is a symbolic link; dumps do not follow links";
        }
        fullPath = full;
        return null;
    }

    private static string Printable(string s) =>
        string.Concat(s.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
