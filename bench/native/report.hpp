#pragma once
// A table of strings rendered twice: aligned plain text for the terminal and a GitHub
// markdown table for bench/README.md.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace bench
{

struct Table
{
    std::string title;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::string note;

    void add(std::vector<std::string> row) { rows.push_back(std::move(row)); }

    [[nodiscard]] std::string text() const
    {
        std::vector<std::size_t> width(header.size(), 0);
        auto widen = [&](const std::vector<std::string>& r)
        {
            for (std::size_t i = 0; i < r.size() && i < width.size(); ++i)
                width[i] = std::max(width[i], r[i].size());
        };
        widen(header);
        for (const auto& r : rows)
            widen(r);
        std::string out = "== " + title + " ==\n";
        auto line = [&](const std::vector<std::string>& r)
        {
            for (std::size_t i = 0; i < width.size(); ++i)
            {
                const std::string cell = i < r.size() ? r[i] : "";
                // first column left-aligned, numbers right-aligned
                if (i == 0)
                    out += cell + std::string(width[i] - cell.size(), ' ');
                else
                    out += "  " + std::string(width[i] - cell.size(), ' ') + cell;
            }
            out += '\n';
        };
        line(header);
        std::size_t total = 0;
        for (auto w : width)
            total += w + 2;
        out += std::string(total - 2, '-') + '\n';
        for (const auto& r : rows)
            line(r);
        if (!note.empty())
            out += note + '\n';
        return out;
    }

    [[nodiscard]] std::string markdown() const
    {
        std::string out = "### " + title + "\n\n|";
        for (const auto& h : header)
            out += " " + h + " |";
        out += "\n|";
        for (std::size_t i = 0; i < header.size(); ++i)
            out += i == 0 ? " :-- |" : " --: |";
        out += '\n';
        for (const auto& r : rows)
        {
            out += "|";
            for (std::size_t i = 0; i < header.size(); ++i)
                out += " " + (i < r.size() ? r[i] : std::string()) + " |";
            out += '\n';
        }
        if (!note.empty())
            out += "\n" + note + "\n";
        return out + '\n';
    }
};

inline std::string fmt(const char* f, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

/// Latency in µs with a precision that suits its magnitude.
inline std::string us(double ns)
{
    const double u = ns / 1000.0;
    if (u < 10)
        return fmt("%.2f", u);
    if (u < 100)
        return fmt("%.1f", u);
    return fmt("%.0f", u);
}

inline std::string ratio(double r) { return fmt("%.2fx", r); }

inline std::string bytes_h(double b)
{
    if (b >= 1024.0 * 1024 * 1024)
        return fmt("%.2f GiB", b / (1024.0 * 1024 * 1024));
    if (b >= 1024.0 * 1024)
        return fmt("%.1f MiB", b / (1024.0 * 1024));
    if (b >= 1024.0)
        return fmt("%.0f KiB", b / 1024.0);
    return fmt("%.0f B", b);
}

inline std::string count_h(double n)
{
    const auto v = static_cast<unsigned long long>(n);
    std::string s = std::to_string(v);
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i)
    {
        if (i && (s.size() - i) % 3 == 0)
            out += ',';
        out += s[i];
    }
    return out;
}

} // namespace bench
