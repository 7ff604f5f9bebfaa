"""The roster: a CSV of students into nbgrader's gradebook, idempotently, with clear errors."""
import pytest
from nbgrader.api import Gradebook

from course.cli import main as nncourse
from course.delivery.roster import Person, import_roster, parse_roster, read_roster
from course.settings import CourseError, load

ROSTER = ("\ufeffid,first_name,last_name,email,lms_id,section\n"
          "ivanova,Анна,Иванова,anna@example.org,12345,A\n"
          "\n"
          "petrov_2,Пётр,Петров,petr@example.org,,B\n")


def test_a_roster_reads_as_people_and_other_columns_stay_out():
    assert parse_roster(ROSTER) == [Person("ivanova", "Анна", "Иванова", "anna@example.org", "12345"),
                                   Person("petrov_2", "Пётр", "Петров", "petr@example.org", "")]


@pytest.mark.parametrize("text, says", [
    ("id,first_name,last_name\nx,a,b\n", "the header lacks email"),
    ("id,first_name,last_name,email\nIvanova,a,b,a@b.cd\n", "roster.csv:2: id 'Ivanova' is not a course id"),
    ("id,first_name,last_name,email\n../x,a,b,a@b.cd\n", "roster.csv:2: id '../x'"),
    ("id,first_name,last_name,email\na,x,y,a@b.cd\nb,x,y,b@b.cd\na,z,z,z@b.cd\n", "roster.csv:4: id 'a' again (first on line 2)"),
    ("id,first_name,last_name,email\na,x,y,not-an-address\n", "roster.csv:2: 'not-an-address' is not an email"),
])
def test_a_bad_roster_names_its_line(text, says):
    with pytest.raises(CourseError, match=says.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_roster(text)


def test_a_roster_that_is_not_utf8_says_so(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes("id,first_name,last_name,email\nivanova,Анна,Иванова,a@b.cd\n".encode("cp1251"))
    with pytest.raises(CourseError, match="not UTF-8"):
        read_roster(path)


def gradebook_students(course):
    with Gradebook(load(course).db_url, course_id=load(course).course_id) as gb:
        return {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}


def test_import_adds_updates_and_changes_nothing_the_second_time(new_course, capsys):
    (new_course / "roster.csv").write_text(ROSTER, encoding="utf-8")
    assert nncourse(["--course", str(new_course), "roster", "import", str(new_course / "roster.csv")]) == 0
    assert "2 students in roster.csv: 2 added, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert gradebook_students(new_course) == {"ivanova": ("Анна", "Иванова", "anna@example.org", "12345"),
                                              "petrov_2": ("Пётр", "Петров", "petr@example.org", None)}
    again = import_roster(new_course, parse_roster(ROSTER))
    assert (again.added, again.updated, again.unchanged) == ((), (), ("ivanova", "petrov_2"))
    moved = import_roster(new_course, [Person("ivanova", "Анна", "Иванова", "anna@new.org", "12345")])
    assert moved.updated == ("ivanova",) and gradebook_students(new_course)["ivanova"][2] == "anna@new.org"


def test_the_command_refuses_a_bad_file_with_exit_2(new_course, tmp_path, capsys):
    bad = tmp_path / "roster.csv"
    bad.write_text("id,first_name\nx,y\n", encoding="utf-8")
    assert nncourse(["--course", str(new_course), "roster", "import", str(bad)]) == 2
    assert "the header lacks" in capsys.readouterr().err
    assert gradebook_students(new_course) == {}
