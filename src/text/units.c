/*
 * units.c - the units of measure the English normalizer reads after a
 * number ("5 km" -> "five kilometers", "1 lb" -> "one pound").  A unit is
 * only a unit right after a number, so the table can hold short symbols
 * ("m", "g", "h") that would be words or letters anywhere else; matching is
 * case-sensitive because case carries meaning ("mm" millimeters, "Mb"
 * megabits, "MB" megabytes).  Symbols that are ordinary words in running
 * text are left out or need their period: "in" only as "in." ("5 in the box"
 * is not inches), and "s", "A", "C", "F", "K", "t" are not here at all.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "text/text.h"

static const text_unit units[] = {
    /* length */
    {"mm", "millimeter", "millimeters", 0}, {"cm", "centimeter", "centimeters", 0},
    {"m", "meter", "meters", 0},            {"km", "kilometer", "kilometers", 0},
    {"in", "inch", "inches", 1},            {"ft", "foot", "feet", 0},
    {"yd", "yard", "yards", 0},             {"yds", "yard", "yards", 0},
    {"mi", "mile", "miles", 0},
    /* mass */
    {"mg", "milligram", "milligrams", 0},   {"g", "gram", "grams", 0},
    {"kg", "kilogram", "kilograms", 0},     {"lb", "pound", "pounds", 0},
    {"lbs", "pound", "pounds", 0},          {"oz", "ounce", "ounces", 0},
    /* volume */
    {"ml", "milliliter", "milliliters", 0}, {"mL", "milliliter", "milliliters", 0},
    {"gal", "gallon", "gallons", 0},        {"tsp", "teaspoon", "teaspoons", 0},
    {"tbsp", "tablespoon", "tablespoons", 0},
    /* time */
    {"ms", "millisecond", "milliseconds", 0}, {"sec", "second", "seconds", 0},
    {"secs", "second", "seconds", 0},       {"min", "minute", "minutes", 0},
    {"mins", "minute", "minutes", 0},       {"h", "hour", "hours", 0},
    {"hr", "hour", "hours", 0},             {"hrs", "hour", "hours", 0},
    {"yr", "year", "years", 0},             {"yrs", "year", "years", 0},
    /* speed and rates */
    {"mph", "mile per hour", "miles per hour", 0},
    {"km/h", "kilometer per hour", "kilometers per hour", 0},
    {"kph", "kilometer per hour", "kilometers per hour", 0},
    {"m/s", "meter per second", "meters per second", 0},
    {"rpm", "revolution per minute", "revolutions per minute", 0},
    {"Mbps", "megabit per second", "megabits per second", 0},
    /* electricity, frequency, energy */
    {"V", "volt", "volts", 0},              {"W", "watt", "watts", 0},
    {"kW", "kilowatt", "kilowatts", 0},     {"MW", "megawatt", "megawatts", 0},
    {"kWh", "kilowatt hour", "kilowatt hours", 0},
    {"Hz", "hertz", "hertz", 0},            {"kHz", "kilohertz", "kilohertz", 0},
    {"MHz", "megahertz", "megahertz", 0},   {"GHz", "gigahertz", "gigahertz", 0},
    {"kcal", "kilocalorie", "kilocalories", 0},
    /* data */
    {"KB", "kilobyte", "kilobytes", 0},     {"kB", "kilobyte", "kilobytes", 0},
    {"MB", "megabyte", "megabytes", 0},     {"GB", "gigabyte", "gigabytes", 0},
    {"TB", "terabyte", "terabytes", 0},     {"Mb", "megabit", "megabits", 0},
    {"Gb", "gigabit", "gigabits", 0},
};

const text_unit *text_unit_find(const char *s, size_t n)
{
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strlen(units[k].sym) == n && memcmp(units[k].sym, s, n) == 0)
            return &units[k];
    return NULL;
}
